"use strict";
// Password visibility toggle and a friendly check before the form goes to the server.
document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("login-form");
    const password = document.getElementById("password");
    const toggle = document.getElementById("toggle-password");
    const clientError = document.getElementById("client-error");
    if (!form || !password || !toggle || !clientError) {
        return;
    }
    toggle.addEventListener("click", () => {
        const showing = password.type === "text";
        password.type = showing ? "password" : "text";
        toggle.setAttribute("aria-pressed", String(!showing));
        toggle.textContent = showing ? "Show password" : "Hide password";
    });
    form.addEventListener("submit", (event) => {
        const username = document.getElementById("username");
        if (!username.value.trim() || !password.value) {
            event.preventDefault();
            clientError.textContent = "Enter both a username and a password.";
            clientError.hidden = false;
            (username.value.trim() ? password : username).focus();
        }
    });
});
