"""Peers run side by side with Hookline: Node-RED from npm, with the equivalent flow.

The flow is webhook in → answer 200 at once, and forward the body to the same local sink
Hookline delivers to. Node-RED checks no signature and stores nothing, so it does less
work per event than Hookline; it is the closest self-hosted tool that installs from a
registry in seconds. n8n (hundreds of MB, and it stores every execution) is left out;
MEASURED.md has its figures from the same kind of machine.

Node-RED is installed on first use into bench/.peers (git-ignored) with npm.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from common import HERE, Proc

NODE_RED = "node-red@4"
PEERS_DIR = HERE / ".peers"

SETTINGS = """module.exports = {
  uiPort: PORT,
  uiHost: "127.0.0.1",
  httpAdminRoot: false,
  flowFile: "flows.json",
  logging: { console: { level: "warn", metrics: false, audit: false } },
};
"""


def node_red_available() -> str | None:
    """Why Node-RED cannot run here, or None when it can (installing it if needed)."""
    if not (shutil.which("node") and shutil.which("npm")):
        return "node and npm are not installed"
    binary = PEERS_DIR / "node_modules" / ".bin" / "node-red"
    if not binary.exists():
        PEERS_DIR.mkdir(exist_ok=True)
        installed = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", NODE_RED],
            cwd=PEERS_DIR, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        if installed.returncode != 0:
            return f"npm install {NODE_RED} failed: {installed.stderr.strip()[-300:]}"
    return None


def node_red_version() -> str:
    package = PEERS_DIR / "node_modules" / "node-red" / "package.json"
    return str(json.loads(package.read_text())["version"])


def start_node_red(workdir: Path, port: int, sink_url: str, log: Path) -> Proc:
    """Node-RED with the flow: POST /hooks/stripe → 200, and the body POSTed to the sink."""
    user = workdir / "node-red"
    user.mkdir(exist_ok=True)
    (user / "settings.js").write_text(SETTINGS.replace("PORT", str(port)))
    flow = [
        {"id": "bench", "type": "tab", "label": "bench"},
        {"id": "in", "type": "http in", "z": "bench", "url": "/hooks/stripe",
         "method": "post", "upload": False, "wires": [["answer", "forward"]]},
        {"id": "answer", "type": "http response", "z": "bench", "statusCode": "200",
         "headers": {}, "wires": []},
        {"id": "forward", "type": "http request", "z": "bench", "method": "POST",
         "ret": "txt", "url": f"{sink_url}/orders", "wires": [[]]},
    ]  # fmt: skip
    (user / "flows.json").write_text(json.dumps(flow))
    binary = PEERS_DIR / "node_modules" / ".bin" / "node-red"
    argv = [str(binary), "-u", str(user), "-s", str(user / "settings.js")]
    return Proc(argv, f"http://127.0.0.1:{port}/hooks/stripe", log=log).wait_ready(timeout=60)
