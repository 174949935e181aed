"""Screenshots of the dashboard for the docs: board, case and SES pages, in English and Japanese.

    .venv/bin/python scripts/screenshots.py [OUT_DIR]     (default docs/img)

A fresh SQLite store in a temporary folder: the demo's sample notices triaged today, the leaked-key
case diagnosed and fixed in a fake AWS account (moto, in this process), two weeks of SES counters,
one user. A real server on 127.0.0.1 and Debian's Chromium (headless, through Playwright) take them.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' helpers: the browser, the live server, the SES seed
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

from noticedesk.cli.demo import samples_told_at  # noqa: E402
from noticedesk.config import Config  # noqa: E402
from noticedesk.demo.fake_aws import diagnose_and_fix  # noqa: E402
from noticedesk.store.db import open_store  # noqa: E402
from noticedesk.triage import Triage  # noqa: E402
from noticedesk.users import add_user  # noqa: E402
from noticedesk.web.app import create_app  # noqa: E402
from tests.browser import chromium  # noqa: E402
from tests.live_server import running  # noqa: E402
from tests.web_helpers import seed_ses  # noqa: E402

PASSWORD = "screenshots-only-password"


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    config = Config()
    with tempfile.TemporaryDirectory() as folder:
        engine = open_store(f"sqlite:///{folder}/screens.db")
        results = list(Triage(engine, config, lambda: now).run(samples_told_at(now)))
        leaked = next(r.case_id for r in results if r.notice and r.notice.kind.value == "account-compromised")
        assert leaked is not None
        diagnose_and_fix(engine, config, leaked, now)
        seed_ses(engine, now)
        add_user(engine, "yamada", PASSWORD, "admin", now)
        with running(create_app(engine, config, clock=lambda: now)) as url, chromium() as browser:
            for lang in ("en", "ja"):
                context = browser.new_context(viewport={"width": 1360, "height": 900}, locale=lang)
                page = context.new_page()
                page.goto(f"{url}/login")
                page.fill("input[name=username]", "yamada")
                page.fill("input[name=password]", PASSWORD)
                page.click("form[action='/login'] button[type=submit]")
                page.click(f"button[name=lang][value={lang}]")
                for name, path in (("board", "/"), ("case", f"/cases/{leaked}"), ("ses", "/ses")):
                    page.goto(f"{url}{path}")
                    page.wait_for_timeout(1200)  # a countdown tick
                    target = out / f"{name}-{lang}.png"
                    page.screenshot(path=str(target), full_page=name != "case")
                    print(target)
                context.close()
        engine.dispose()


if __name__ == "__main__":
    main()
