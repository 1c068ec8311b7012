"use strict";
// Reveals the longer story on the about page without a page load.
document.addEventListener("DOMContentLoaded", () => {
    const toggle = document.getElementById("about-more-toggle");
    const more = document.getElementById("about-more");
    if (!toggle || !more) {
        return;
    }
    toggle.addEventListener("click", () => {
        const opening = more.hidden;
        more.hidden = !opening;
        toggle.setAttribute("aria-expanded", String(opening));
        toggle.textContent = opening ? "Show less" : "Show more";
    });
});
