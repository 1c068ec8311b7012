"""What a user does through the forms, for the tests to repeat."""


def sign_up(client, username, password, password2=None, email=None):
    return client.post(
        "/signup",
        data={
            "username": username,
            "password": password,
            "password2": password if password2 is None else password2,
            "email": email or f"{username}@example.com",
        },
        follow_redirects=True,
    )


def sign_in(client, username, password):
    return client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=True
    )


def sign_up_and_in(client, username, password="secret"):
    sign_up(client, username, password)
    return sign_in(client, username, password)


def sign_out(client):
    return client.get("/logout", follow_redirects=True)


def chirp(client, text):
    response = client.post("/post", data={"text": text}, follow_redirects=True)
    if text.strip():
        assert b"Chirped!" in response.data
    return response
