def test_about_page_keeps_its_umlauts(client):
    assert "Über Quill" in client.get("/about").text


def test_unknown_page_gets_the_error_template(client):
    response = client.get("/nowhere")

    assert response.status_code == 404
    assert b"No such page." in response.data
