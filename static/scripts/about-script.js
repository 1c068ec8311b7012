"use strict";
// Folds the longer story on the about page behind a button. Without this script the story is
// simply shown, so the button starts hidden and the script reveals it.
document.addEventListener("DOMContentLoaded", () => {
    const toggle = document.getElementById("about-more-toggle");
    const more = document.getElementById("about-more");
    if (!toggle || !more) {
        return;
    }
    more.hidden = true;
    toggle.hidden = false;
    toggle.addEventListener("click", () => {
        const opening = more.hidden;
        more.hidden = !opening;
        toggle.setAttribute("aria-expanded", String(opening));
        toggle.textContent = opening ? "Show less" : "Show more";
    });
});
