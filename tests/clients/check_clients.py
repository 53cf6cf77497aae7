"""Reads one spn run through TensorBoard's and MLflow's own readers and checks what
they see against the run's metrics.jsonl, results.json and config.toml.

    check_clients.py RUN_DIR MLFLOW_EXPORT_DIR

RUN_DIR holds events.out.tfevents.spn (written by spn-launch as it ran);
MLFLOW_EXPORT_DIR is `spn-launch export-mlflow` output holding that run. The export is
imported with MLflow's own `mlflow migrate-filestore` into a SQLite database and read
back with MlflowClient. The tag naming is re-derived here from metrics.jsonl on
purpose, so a change on either side is caught. Exits 1 naming the first mismatch.
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import tomllib


def fail(message):
    print("check_clients: " + message, file=sys.stderr)
    sys.exit(1)


def flatten(value, prefix, out):
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        out[prefix] = float(value)
    elif isinstance(value, dict):
        for key, inner in value.items():
            flatten(inner, prefix + "/" + key, out)


def expected_points(run_dir, with_time=False):
    """[(tag, step, value)] for every metrics line, as spn names them; with_time adds
    the line's time in milliseconds: [(tag, step, value, ms)]."""
    points = []
    with open(os.path.join(run_dir, "metrics.jsonl")) as lines:
        for text in lines:
            line = json.loads(text)
            stage = line.get("stage", "metrics")
            split = line.get("split", "")
            scalars = {}
            for key, value in line.items():
                if key in ("step", "time"):
                    continue
                evaluation = isinstance(value, dict) and split
                flatten(value, stage + "/" + (split if evaluation else key), scalars)
            for tag, value in scalars.items():
                point = (tag, line.get("step", 0), value)
                if with_time:
                    if "time" not in line:
                        fail("metrics.jsonl: a line without a time: " + text)
                    point += (math.floor(line["time"] * 1000 + 0.5),)
                points.append(point)
    return points


def expected_results(run_dir):
    with open(os.path.join(run_dir, "results.json")) as file:
        results = json.load(file)
    out = {}
    for stage, value in results.items():
        if stage != "artifacts":
            flatten(value, "results/" + stage, out)
    return out


def config_values(run_dir):
    with open(os.path.join(run_dir, "config.toml"), "rb") as file:
        config = tomllib.load(file)
    flat = {}

    def walk(table, prefix):
        for key, value in table.items():
            if isinstance(value, dict):
                walk(value, prefix + key + ".")
            else:
                flat[prefix + key] = value
    walk(config, "")
    return flat


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


def check_tensorboard(run_dir):
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

    accumulator = event_accumulator.EventAccumulator(run_dir, size_guidance={event_accumulator.SCALARS: 0})
    accumulator.Reload()
    tags = set(accumulator.Tags()["scalars"])
    by_tag = {}
    for tag, step, value in expected_points(run_dir):
        by_tag.setdefault(tag, []).append((step, value))
    for tag, expected in by_tag.items():
        if tag not in tags:
            fail("tensorboard: no scalar " + tag)
        seen = [(event.step, event.value) for event in accumulator.Scalars(tag)]
        if len(seen) != len(expected):
            fail("tensorboard: %s has %d points, metrics.jsonl %d" % (tag, len(seen), len(expected)))
        for (step, value), (seen_step, seen_value) in zip(expected, seen):
            # Event scalars are float32.
            if step != seen_step or not math.isclose(value, seen_value, rel_tol=1e-6, abs_tol=1e-6):
                fail("tensorboard: %s: (%s, %r) in metrics.jsonl, (%s, %r) in the events" %
                     (tag, step, value, seen_step, seen_value))
    for tag, value in expected_results(run_dir).items():
        if tag not in tags or not math.isclose(accumulator.Scalars(tag)[-1].value, value, rel_tol=1e-6):
            fail("tensorboard: result " + tag + " missing or different")

    content = accumulator.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    for key, value in config_values(run_dir).items():
        if key not in start.hparams:
            fail("tensorboard: hparam " + key + " missing")
        hparam = start.hparams[key]
        if isinstance(value, bool):
            ok = hparam.bool_value == value
        elif isinstance(value, (int, float)):
            ok = close(hparam.number_value, float(value))
        elif isinstance(value, str):
            ok = hparam.string_value == value
        else:
            ok = hparam.HasField("string_value")
        if not ok:
            fail("tensorboard: hparam %s = %s, config.toml %r" % (key, hparam, value))
    end = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_end_info"]).session_end_info
    if end.status != api_pb2.STATUS_SUCCESS:
        fail("tensorboard: session status %s, expected success" % end.status)
    print("tensorboard: %d scalar tags, %d hparams match" % (len(by_tag), len(start.hparams)))


def check_mlflow(run_dir, export_dir):
    from mlflow.tracking import MlflowClient

    with tempfile.TemporaryDirectory() as scratch:
        uri = "sqlite:///" + os.path.join(scratch, "mlflow.db")
        migrate = subprocess.run([os.path.join(os.path.dirname(sys.executable), "mlflow"), "migrate-filestore",
                                  "--source", export_dir, "--target", uri], capture_output=True, text=True)
        if migrate.returncode != 0:
            fail("mlflow migrate-filestore failed:\n" + migrate.stdout + migrate.stderr)
        client = MlflowClient(tracking_uri=uri)
        experiments = client.search_experiments()
        runs = client.search_runs([e.experiment_id for e in experiments],
                                  filter_string="tags.`spn.run_dir` = '%s'" % run_dir)
        if len(runs) != 1:
            fail("mlflow: %d runs tagged with spn.run_dir %s" % (len(runs), run_dir))
        run = runs[0]
        if run.info.status != "FINISHED":
            fail("mlflow: run status " + run.info.status)
        for key, value in config_values(run_dir).items():
            if key not in run.data.params:
                fail("mlflow: param " + key + " missing")
            if isinstance(value, str) and run.data.params[key] != value:
                fail("mlflow: param %s = %r, config.toml %r" % (key, run.data.params[key], value))
            if isinstance(value, (int, float)) and not isinstance(value, bool) and \
                    not close(float(run.data.params[key]), float(value)):
                fail("mlflow: param %s = %r, config.toml %r" % (key, run.data.params[key], value))
        # MLflow holds a point once per (time, step, value); spn exports it once.
        by_tag, unique = {}, set()
        for tag, step, value, ms in expected_points(run_dir, with_time=True):
            if (tag, step, value, ms) not in unique:
                unique.add((tag, step, value, ms))
                by_tag.setdefault(tag, []).append((step, value))
        for tag, expected in by_tag.items():
            history = sorted((m.timestamp, m.step, m.value) for m in client.get_metric_history(run.info.run_id, tag))
            seen = [(step, value) for _, step, value in history]
            if len(seen) != len(expected) or any(a[0] != b[0] or not close(a[1], b[1]) for a, b in zip(expected, seen)):
                fail("mlflow: history of %s differs from metrics.jsonl:\n%s\n%s" % (tag, expected[:5], seen[:5]))
        for tag, value in expected_results(run_dir).items():
            if not close(run.data.metrics.get(tag, float("nan")), value):
                fail("mlflow: result " + tag + " missing or different")
        print("mlflow: run %s, %d params, %d metric histories match" %
              (run.info.run_id, len(run.data.params), len(by_tag)))


def main():
    if len(sys.argv) != 3:
        fail("usage: check_clients.py RUN_DIR MLFLOW_EXPORT_DIR")
    run_dir = os.path.abspath(sys.argv[1])
    check_tensorboard(run_dir)
    check_mlflow(run_dir, os.path.abspath(sys.argv[2]))


if __name__ == "__main__":
    main()
