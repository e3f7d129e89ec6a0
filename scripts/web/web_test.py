"""fstore's web tests, against a real `fstore serve` on the embedded SQLite store.

Sets up a feature table with the real CLI (create, publish, merge new rows, publish again,
publish once more with nothing new: three publishes), starts `fstore serve` with a bearer token,
then:

1. schemathesis fuzzes the serving API from the server's own `/openapi.json`: no 5xx, and no
   response that contradicts the document (status codes, content types, headers, schemas);
2. Playwright drives Debian's chromium through the web page (`/ui`): the tables are listed,
   the history chart has one mark per publish, the lookup form returns the published values,
   no console errors, and without the token the page is refused. A screenshot goes to
   $FSTORE_WEB_ARTIFACTS (default: <target dir>/web-artifacts).

Fails (never skips) when anything it needs is missing. Usage: scripts/test-web (which installs
what is missing and finds the binary).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

FSTORE = os.environ["FSTORE_BIN"]
ARTIFACTS = Path(os.environ["FSTORE_WEB_ARTIFACTS"])
TOKEN = "web-test-token-1234"
CHROMIUM = os.environ.get("FSTORE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def fstore(cwd, *args):
    r = subprocess.run([FSTORE, *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        sys.exit(f"fstore {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout


def setup(work):
    users = work / "users.csv"
    users.write_text("user_id,age,name\n1,31,ada\n2,42,<b>bob</b>\n3,27,cy\n")
    fstore(work, "tables", "create", "default.users", "-k", "user_id", "--from", str(users),
           "--description", "Users & their <features>", "--tag", "team=web")
    fstore(work, "publish", "default.users")
    more = work / "more.csv"
    more.write_text("user_id,age,name\n2,43,<b>bob</b>\n4,19,dee\n")
    fstore(work, "tables", "write", "default.users", "--from", str(more), "--mode", "merge")
    fstore(work, "publish", "default.users")
    fstore(work, "publish", "default.users")  # nothing new: an up-to-date publish, recorded too
    history = fstore(work, "online", "history", "users", "--format", "json")
    return [json.loads(l) for l in history.splitlines() if l.strip()]


def start_server(work, command="serve"):
    env = dict(os.environ, FSTORE_WEB_TOKEN=TOKEN)
    p = subprocess.Popen([FSTORE, command, "--listen", "127.0.0.1:0", "--token-env", "FSTORE_WEB_TOKEN"],
                         cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        line = p.stderr.readline()
        if not line:
            if p.poll() is not None:
                sys.exit(f"fstore serve exited ({p.returncode})")
            continue
        m = re.search(r"http://(127\.0\.0\.1:\d+)", line)
        if m:
            return p, f"http://{m.group(1)}"
    p.kill()
    sys.exit("fstore serve did not say where it listens")


def fuzz(base):
    """schemathesis from the served document; a non-zero exit is a failure."""
    cmd = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json",
        "--url", base,
        "-H", f"Authorization: Bearer {TOKEN}",
        "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                    "response_headers_conformance,response_schema_conformance",
        "--max-examples", os.environ.get("FSTORE_FUZZ_EXAMPLES", "200"),
        "--generation-deterministic",
        "--request-timeout", "10",
        "--suppress-health-check", "all",
    ]
    print("web: schemathesis:", " ".join(cmd[2:]), flush=True)
    r = subprocess.run(cmd, timeout=900)
    if r.returncode != 0:
        sys.exit(f"schemathesis found problems (exit {r.returncode})")


def refused_without_token(base):
    req = urllib.request.Request(f"{base}/ui")
    try:
        urllib.request.urlopen(req, timeout=10)
    except urllib.error.HTTPError as e:
        assert e.code == 401, e.code
        assert e.headers["WWW-Authenticate"] == "Bearer"
        return
    sys.exit("GET /ui without the token was not refused")


def browse(base, history):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # Without the token: the page is refused.
        bare = browser.new_context()
        page = bare.new_page()
        resp = page.goto(f"{base}/ui")
        assert resp.status == 401, resp.status
        bare.close()

        ctx = browser.new_context(extra_http_headers={"Authorization": f"Bearer {TOKEN}"},
                                  viewport={"width": 1200, "height": 900})
        page = ctx.new_page()
        page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))

        resp = page.goto(f"{base}/ui")
        assert resp.status == 200, resp.status
        online = page.locator("table.online-tables tbody tr")
        assert online.count() == 1, online.count()
        assert "users" in online.first.inner_text()
        feats = page.locator("table.feature-tables tbody tr")
        assert feats.count() == 1 and "default.users" in feats.first.inner_text()
        assert "Users & their <features>" in feats.first.inner_text()  # escaped, shown as text

        page.click("table.feature-tables a[href=\"/ui/tables/default.users\"]")
        page.wait_for_selector("table.schema")
        assert page.locator("table.versions tbody tr").count() >= 2
        assert "team=web" in page.locator(".tag").first.inner_text()

        page.goto(f"{base}/ui/online/users")
        marks = page.locator("#chart-seconds circle.mark")
        assert marks.count() == len(history), (marks.count(), len(history))
        assert page.locator("#chart-rows circle.mark").count() == len(history)
        assert page.locator("table.history tbody tr").count() == len(history)
        page.screenshot(path=str(ARTIFACTS / "ui-online.png"), full_page=True)

        page.goto(f"{base}/ui/lookup")
        page.fill("#lookup-keys", '{"user_id": 2}')
        page.click("button[type=submit]")
        page.wait_for_selector("#lookup-vector")
        cells = {r.get_attribute("data-feature"): r.locator("td").nth(2).inner_text()
                 for r in page.locator("#lookup-vector tbody tr").all()}
        assert cells == {"user_id": "2", "age": "43", "name": "<b>bob</b>"}, cells
        page.fill("#lookup-keys", '{"user_id": 99}')
        page.click("button[type=submit]")
        page.wait_for_selector("#lookup-error:has-text('not online')")
        page.screenshot(path=str(ARTIFACTS / "ui-lookup.png"), full_page=True)

        page.goto(f"{base}/ui/server")
        assert page.locator("table.server-metrics tbody tr").count() >= 2
        page.goto(f"{base}/ui")
        page.screenshot(path=str(ARTIFACTS / "ui.png"), full_page=True)
        browser.close()
    if errors:
        sys.exit("the page logged errors:\n" + "\n".join(errors))


def main():
    with tempfile.TemporaryDirectory(prefix="fstore-web-") as d:
        work = Path(d)
        history = setup(work)
        assert len(history) == 3, history
        server, base = start_server(work)
        try:
            refused_without_token(base)
            browse(base, history)
            fuzz(base)
        finally:
            server.terminate()
            server.wait(timeout=15)
        # `fstore ui`: the same server, announcing its page first.
        server, base = start_server(work, "ui")
        try:
            req = urllib.request.Request(f"{base}/ui", headers={"Authorization": f"Bearer {TOKEN}"})
            with urllib.request.urlopen(req, timeout=10) as r:
                assert r.status == 200 and b"default.users" in r.read()
        finally:
            server.terminate()
            server.wait(timeout=15)
    print(f"web: ok (screenshots in {ARTIFACTS})")


if __name__ == "__main__":
    main()
