from __future__ import annotations

from pathlib import Path

from .porting import dedent, port_files, port_one, ported, rules


def test_async_spreads_through_helpers_across_files(tmp_path: Path) -> None:
    result = port_files(
        tmp_path,
        {
            "shop/__init__.py": "",
            "shop/messages.py": """\
                from flask import flash


                def warn(text):
                    flash(text, "warning")


                def warn_all(texts):
                    for text in texts:
                        warn(text)
                """,
            "shop/views.py": """\
                from flask import Blueprint

                from shop import messages
                from shop.messages import warn_all

                bp = Blueprint("shop", __name__)


                def check(cart):
                    if not cart:
                        warn_all(["empty"])
                        messages.warn("really empty")


                @bp.route("/")
                def cart():
                    check([])
                    return "cart"
                """,
        },
    )
    assert ported(tmp_path, result, "shop/messages.py") == dedent(
        """\
        from quart import flash


        async def warn(text):
            await flash(text, "warning")


        async def warn_all(texts):
            for text in texts:
                await warn(text)
        """
    )
    views = ported(tmp_path, result, "shop/views.py")
    assert "async def check(cart):" in views
    assert 'await warn_all(["empty"])' in views
    assert 'await messages.warn("really empty")' in views
    assert "await check([])" in views
    assert result.rounds >= 3


def test_methods_called_through_self_are_awaited(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        from flask import render_template


        class Page:
            def body(self):
                return render_template("page.html")

            def render(self):
                return self.body()
        """,
    )
    assert "    async def body(self):\n        return await render_template" in text
    assert "    async def render(self):\n        return await self.body()" in text


def test_coroutines_handed_to_asyncio_are_not_awaited(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        import asyncio

        from flask import flash


        def notify():
            flash("done")


        async def main():
            asyncio.run(notify())
            await asyncio.gather(notify(), notify())
        """,
    )
    assert "asyncio.run(notify())" in text
    assert "asyncio.gather(notify(), notify())" in text


def test_calls_that_cannot_become_async_are_reported(tmp_path: Path) -> None:
    source = dedent(
        """\
        from flask import Flask, render_template

        app = Flask(__name__)
        PAGE = render_template("x.html")
        app.jinja_env.globals["page"] = lambda: render_template("y.html")


        @app.template_filter("fancy")
        def fancy(value):
            return render_template("f.html", value=value)


        def pages():
            yield render_template("z.html")
        """
    )
    text, findings = port_one(tmp_path, source)
    assert text == source.replace("from flask import Flask", "from quart import Quart").replace(
        "app = Flask(", "app = Quart("
    )
    assert rules(findings) == ["sync-caller"] * 4
    messages = " ".join(finding.message for finding in findings)
    assert "module or class level" in messages
    assert "lambda" in messages
    assert "@template_filter" in messages
    assert "generator" in messages


def test_mutual_recursion_settles(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        from flask import flash


        def ping(n):
            if n:
                pong(n - 1)


        def pong(n):
            flash("pong")
            ping(n)
        """,
    )
    assert "async def ping(n):\n    if n:\n        await pong(n - 1)" in text
    assert 'async def pong(n):\n    await flash("pong")\n    await ping(n)' in text
