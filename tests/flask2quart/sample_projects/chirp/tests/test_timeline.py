from helpers import chirp, sign_out, sign_up_and_in


def test_the_home_timeline_needs_a_sign_in(client):
    response = client.get("/", follow_redirects=True)

    assert b"Please sign in first." in response.data


def test_chirps_are_escaped_and_listed(client):
    sign_up_and_in(client, "robin")
    chirp(client, "first chirp")
    chirp(client, "<b>bold</b> claim")

    page = client.get("/").data

    assert b"first chirp" in page
    assert b"&lt;b&gt;bold&lt;/b&gt; claim" in page


def test_an_empty_chirp_is_ignored(client):
    sign_up_and_in(client, "robin")

    assert b"Chirped!" not in chirp(client, "   ").data


def test_following_shows_their_chirps_at_home(client):
    sign_up_and_in(client, "ana")
    chirp(client, "hello from ana")
    sign_out(client)
    sign_up_and_in(client, "ben")
    chirp(client, "hello from ben")

    assert "hello from ana" in client.get("/public").text
    assert "hello from ana" not in client.get("/").text

    response = client.get("/ana/follow", follow_redirects=True)
    assert "You now follow ana." in response.get_data(as_text=True)
    assert "hello from ana" in client.get("/").text
    assert b"Unfollow" in client.get("/ana").data

    response = client.get("/ana/unfollow", follow_redirects=True)
    assert "You no longer follow ana." in response.get_data(as_text=True)
    assert "hello from ana" not in client.get("/").text


def test_a_user_page_shows_only_their_chirps(client):
    sign_up_and_in(client, "ana")
    chirp(client, "thought by ana")
    sign_out(client)
    sign_up_and_in(client, "ben")
    chirp(client, "thought by ben")

    page = client.get("/ana").get_data(as_text=True)

    assert "thought by ana" in page
    assert "thought by ben" not in page
    assert "This is you!" in client.get("/ben").text


def test_unknown_users_are_404(client):
    assert client.get("/nobody").status_code == 404
    sign_up_and_in(client, "ana")
    assert client.get("/nobody/follow").status_code == 404
