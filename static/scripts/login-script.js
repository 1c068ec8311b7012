"use strict";
// The sign-in form: a show/hide password button, and each empty field is named inline before the
// form goes to the server (which checks everything again and answers with its own inline error).
document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("login-form");
    const username = document.getElementById("username");
    const password = document.getElementById("password");
    const toggle = document.getElementById("toggle-password");
    const submit = document.getElementById("login-submit");
    if (!form || !username || !password || !toggle || !submit) {
        return;
    }
    const messages = new Map([
        [username, "Enter your username."],
        [password, "Enter your password."],
    ]);

    // The server strips the username but takes the password as typed.
    const isEmpty = (field) => (field === password ? field.value : field.value.trim()) === "";

    const errorFor = (field) => document.getElementById(`${field.id}-error`);

    const showError = (field, message) => {
        const error = errorFor(field);
        error.textContent = message;
        error.hidden = false;
        field.setAttribute("aria-invalid", "true");
    };

    const clearError = (field) => {
        const error = errorFor(field);
        error.textContent = "";
        error.hidden = true;
        field.removeAttribute("aria-invalid");
    };

    // The button only makes sense when a script can act on it, so it starts hidden.
    toggle.hidden = false;
    toggle.addEventListener("click", () => {
        const showing = password.type === "text";
        password.type = showing ? "password" : "text";
        toggle.setAttribute("aria-pressed", String(!showing));
        toggle.textContent = showing ? "Show" : "Hide";
        password.focus();
    });

    for (const field of messages.keys()) {
        field.addEventListener("input", () => {
            if (!isEmpty(field)) {
                clearError(field);
            }
        });
    }

    form.addEventListener("submit", (event) => {
        const empty = [...messages.keys()].filter(isEmpty);
        for (const [field, message] of messages) {
            if (empty.includes(field)) {
                showError(field, message);
            } else {
                clearError(field);
            }
        }
        if (empty.length > 0) {
            event.preventDefault();
            empty[0].focus();
            return;
        }
        // Passwords are not shown in plain text once they leave the page.
        password.type = "password";
        submit.disabled = true;
        submit.textContent = "Signing in…";
    });

    // A page restored by the Back button must not keep its button disabled.
    window.addEventListener("pageshow", () => {
        submit.disabled = false;
        submit.textContent = "Sign in";
    });
});
