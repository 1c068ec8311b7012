"""View decorators, written before functools.wraps was the habit here."""

from flask import flash, g, redirect, render_template, request, url_for


def login_required(f):
    """Only for signed-in users; the others go to the login page."""

    def decorated_function(*args, **kwargs):
        if g.user is None:
            flash("Please sign in first.")
            return redirect(url_for("auth.login", next=request.path))
        return f(*args, **kwargs)

    decorated_function.__name__ = f.__name__
    decorated_function.__doc__ = f.__doc__
    return decorated_function


def templated(template):
    """Render `template` with the dict the view returns (other return values pass through)."""

    def decorator(f):
        def decorated_function(*args, **kwargs):
            context = f(*args, **kwargs)
            if context is None:
                context = {}
            elif not isinstance(context, dict):
                return context
            return render_template(template, **context)

        decorated_function.__name__ = f.__name__
        return decorated_function

    return decorator
