"""healthscore in Airflow: the nightly run and the weekly prune.

An example to adapt. Each task runs the healthscore binary (installed on the
workers, or swap the subprocess for a KubernetesPodOperator on the image
built from the repository's Dockerfile) and reads its JSON result: the
last line of stdout is one object with ``status``, ``exit_code``, the row
counts, the bands and the stage times, and on failure the error's
``kind``, ``message`` and ``retryable``.

* ``--as-of {{ ds }}``: the run scores the logical date, so a backfill or a
  cleared task rescores exactly that day.
* ``--run-id``: the DAG, task and logical date, the same for every try of
  one task instance, so a retry takes over the lease its failed try left.
* Exit codes: 1 is worth a retry (storage, lock, signal); 2 (input or
  pipeline breaks the contract or a data guard) and 64 (command line) are
  not, so they fail the task without using up retries.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta

from airflow.decorators import dag, task
from airflow.exceptions import AirflowException, AirflowFailException

HEALTHSCORE = "/usr/local/bin/healthscore"
PIPELINE = "/etc/healthscore/pipelines/default.toml"
INPUT = "s3://warehouse-exports/health/{as_of}"
OUTPUT = "s3://analytics-snapshots/healthscore"
METRICS_FILE = "/var/lib/node_exporter/textfile_collector/healthscore.prom"


def healthscore(args: list[str]) -> dict:
    """Runs healthscore with --format json; returns its result or raises."""
    proc = subprocess.run(
        [HEALTHSCORE, *args, "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    # Progress and log lines go to stderr: keep them in the task log.
    if proc.stderr:
        print(proc.stderr)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        result = {"status": "error", "stdout": proc.stdout}
    if proc.returncode == 0:
        return result
    error = result.get("error", {})
    message = (
        f"healthscore exited {proc.returncode}: "
        f"{error.get('kind', '?')}: {error.get('message', proc.stdout.strip())}"
    )
    if proc.returncode in (2, 64):
        # Retrying cannot help: fix the export or the pipeline file.
        raise AirflowFailException(message)
    raise AirflowException(message)  # 1: retried by Airflow


@dag(
    dag_id="healthscore",
    schedule="30 2 * * *",
    start_date=datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=1,  # one writer per output; the lease enforces it too
    default_args={
        "retries": 3,
        "retry_delay": timedelta(minutes=10),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(hours=2),
    },
    tags=["healthscore"],
)
def healthscore_dag():
    @task
    def score(ds=None, ti=None) -> dict:
        result = healthscore(
            [
                "run",
                "--pipeline", PIPELINE,
                "--input", INPUT,
                "--output", OUTPUT,
                "--as-of", ds,
                "--run-id", f"{ti.dag_id}-{ti.task_id}-{ds}",
                "--metrics-file", METRICS_FILE,
            ]
        )
        # Returned to XCom for downstream tasks (alerts, BI refresh).
        return {
            "as_of": result.get("as_of"),
            "accounts": result.get("accounts", {}),
            "stages_ms": result.get("stages_ms", {}),
            "previous_snapshot": result.get("previous_snapshot"),
        }

    @task
    def prune(ds=None, ti=None) -> dict:
        return healthscore(
            [
                "prune",
                "--output", OUTPUT,
                "--keep-days", "90",
                "--keep-month-ends", "24",
                "--run-id", f"{ti.dag_id}-{ti.task_id}-{ds}",
            ]
        )

    # Prune after the run: the two take the same lease anyway.
    score() >> prune()


healthscore_dag()
