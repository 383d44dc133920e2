"""The composite action outside GitHub: each `run:` script of `action.yml` is shellchecked
and must read inputs from `env:` only (an `${{ }}` in a script is pasted into the shell
unquoted); then the key step and the loadplan step run as the runner runs them
(`bash -e -o pipefail`) against the real binary, their outputs read back from
`$GITHUB_OUTPUT`. Last, the README's snippets that use the action pass actionlint.

usage: python .ci/action.py LOADPLAN_BINARY   (from the repository root; actionlint and shellcheck on PATH)
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ruamel.yaml import YAML

binary = Path(sys.argv[1]).resolve()
steps = {s.get("id", s.get("name")): s for s in YAML().load(Path("action.yml"))["runs"]["steps"]}
failures = []


def check(ok, message):
    print(("ok   " if ok else "FAIL ") + message)
    if not ok:
        failures.append(message)


work = Path(tempfile.mkdtemp())
for name, step in steps.items():
    if "run" not in step:
        continue
    check("${{" not in step["run"], f"step `{name}`: no expression inside its script")
    script = work / f"{name}.sh"
    script.write_text(step["run"])
    lint = subprocess.run(["shellcheck", "--shell=bash", script], capture_output=True, text=True)
    check(lint.returncode == 0, f"step `{name}`: shellcheck" + ("" if lint.returncode == 0 else f"\n{lint.stdout}"))


def run_step(name, env):
    """Runs one step's script as the runner does; returns its exit code and outputs."""
    output = work / "output"
    output.write_text("")
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", work / f"{name}.sh"],
        env={**os.environ, "GITHUB_OUTPUT": str(output), "GITHUB_PATH": str(work / "path"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return done.returncode, outputs, done.stderr


code, outputs, _ = run_step(
    "key",
    {"GITHUB_ACTION_PATH": os.getcwd(), "GITHUB_ACTION_REF": "v1", "RUNNER_OS": "Linux",
     "RUNNER_ARCH": "X64", "HOME": str(work)},
)
check(
    code == 0 and re.fullmatch(r"loadplan-Linux-X64-v1-[0-9a-f]{16}-[0-9a-f]{16}", outputs.get("key", ""))
    and outputs["key"].startswith(outputs["prefix"]),
    f"key step: {outputs}",
)

out = work / "results"
cases = [
    # (inputs, exit code, summary, what stderr says)
    ({"COMMAND": "validate", "PLAN": "plans\nexamples", "ARGS": "--format github"}, 0, "", ""),
    # An SLA no run meets: the step fails with 1 after setting both outputs.
    ({"COMMAND": "run", "PLAN": "plans/demo.yaml", "OUT": str(out),
      "ARGS": "--demo --duration 1s --set load.think_time=none --set sla.0.below=1us -q"},
     1, str(out / "summary.json"), ""),
    ({"COMMAND": "health", "PLAN": "plans/demo.yaml", "OUT": str(out), "ARGS": "--demo"},
     0, str(out / "health.json"), ""),
    # Nothing written: no summary, even with an old file in the folder.
    ({"COMMAND": "run", "PLAN": "plans/demo.yaml", "OUT": str(out), "ARGS": "--demo --dry-run"},
     0, "", ""),
    # Two shards, then their merge through a glob, as a matrix's download leaves them.
    ({"COMMAND": "run", "PLAN": "plans/demo.yaml", "OUT": str(work / "shards/1"),
      "ARGS": "--demo --duration 1s --set load.think_time=none --shard 1/2 -q"},
     0, str(work / "shards/1/summary.json"), ""),
    ({"COMMAND": "run", "PLAN": "plans/demo.yaml", "OUT": str(work / "shards/2"),
      "ARGS": "--demo --duration 1s --set load.think_time=none --shard 2/2 -q"},
     0, str(work / "shards/2/summary.json"), ""),
    ({"COMMAND": "merge", "PLAN": str(work / "shards/*/summary.json"), "OUT": str(out), "ARGS": "-q"},
     0, str(out / "summary.json"), ""),
    ({"COMMAND": "merge", "PLAN": str(work / "shards/1/summary.json"), "OUT": str(out)},
     2, "", "shard 2 of 2 is missing"),
    ({"COMMAND": "bench", "PLAN": "plans/demo.yaml"}, 2, None, "command must be run"),
    ({"COMMAND": "run", "PLAN": "plans/demo.yaml", "ARGS": "--out elsewhere"}, 2, None, "`out` input"),
    ({"COMMAND": "run", "PLAN": "plans/missing.yaml", "OUT": str(out)}, 2, "", ""),
]
for inputs, expected_code, expected_summary, expected_err in cases:
    env = {"COMMAND": "run", "PLAN": "", "ARGS": "", "OUT": "", "LOADPLAN": str(binary), **inputs}
    code, outputs, err = run_step("loadplan", env)
    ok = (
        code == expected_code
        and outputs.get("exit-code") == str(expected_code)
        and outputs.get("summary") == expected_summary
        and expected_err in err
    )
    check(ok, f"{inputs}: exit {code}, outputs {outputs}" + ("" if ok else f"\n{err}"))
    if expected_summary:
        check(Path(expected_summary).is_file(), f"{expected_summary} exists")

# The README's workflow snippets that use the action, each as the steps of a job (after a
# deploy step, which the health snippet reads), pass actionlint.
readme = Path("README.md").read_text()
for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", readme, re.S)):
    if "uses: OWNER/loadplan@" not in block:
        continue
    steps_yaml = "".join("      " + line + "\n" for line in block.splitlines())
    workflow = work / f"readme-{i}.yml"
    workflow.write_text(
        "on: push\njobs:\n  job:\n    runs-on: ubuntu-latest\n    env: { URL: https://example.com }\n"
        "    steps:\n      - id: deploy\n        run: ./deploy.sh >> \"$GITHUB_OUTPUT\"\n" + steps_yaml
    )
    lint = subprocess.run(["actionlint", workflow], capture_output=True, text=True)
    first = block.strip().splitlines()[0]
    check(lint.returncode == 0, f"README snippet `{first}`: actionlint" + ("" if lint.returncode == 0 else f"\n{lint.stdout}"))

shutil.rmtree(work)
sys.exit(1 if failures else 0)
