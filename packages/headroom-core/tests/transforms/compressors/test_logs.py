"""Log compressor: golden tests on HDFS, Apache, OpenSSH, Spark and Python shapes; properties."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.transforms.compressors import logs

from .helpers import assert_markers_valid, content_lines, make_unit, marker_lines


def hdfs_log(n: int = 600, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    lines = []
    for i in range(n):
        ts = f"081109 {203615 + i:06d} {rnd.randint(10, 999)}"
        blk = rnd.randint(-(10**18), 10**18)
        ip = f"10.251.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}"
        kind = i % 3
        if kind == 0:
            lines.append(
                f"{ts} INFO dfs.DataNode$PacketResponder: PacketResponder {i % 3} for block "
                f"blk_{blk} terminating"
            )
        elif kind == 1:
            lines.append(
                f"{ts} INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap updated: {ip}:50010 "
                f"is added to blk_{blk} size 67108864"
            )
        else:
            lines.append(
                f"{ts} INFO dfs.DataNode$DataXceiver: Receiving block blk_{blk} "
                f"src: /{ip}:4{i % 10}0 dest: /{ip}:50010"
            )
    return lines


def check_accounting(text: str, out: str) -> None:
    """Kept lines are input lines in their order; markers account for every dropped line exactly once."""
    unit = make_unit(text)
    total = assert_markers_valid(out, unit)
    kept = content_lines(out)
    source = text.split("\n")
    it = iter(source)
    for line in kept:
        assert any(line == s for s in it), f"kept line not in input order: {line!r}"
    assert len(kept) + total == len(source)


def test_hdfs_keeps_rare_events_exceptions_and_the_ends() -> None:
    lines = hdfs_log()
    rare = (
        "081110 211541 18 INFO dfs.DataNode: 10.250.15.198:50010 Starting thread to transfer block "
        "blk_4292382298896622412 to 10.250.15.240:50010"
    )
    warn = (
        "081109 214043 2561 WARN dfs.DataNode$DataXceiver: 10.251.30.85:50010:Got exception while serving "
        "blk_-2918118818249673980 to /10.251.90.64:"
    )
    lines.insert(300, rare)
    lines.insert(420, warn)
    text = "\n".join(lines)
    unit = make_unit(text, user_request="What went wrong in HDFS? Which rare events occurred?")
    out = logs.compress(text, unit)
    assert out is not None
    kept = out.split("\n")
    assert rare in kept
    assert warn in kept
    assert lines[0] in kept
    assert lines[-1] in kept
    assert len(out) < len(text) * 0.2
    check_accounting(text, out)
    # the markers name the templates they drop, numbers masked
    named = 'x "INFO dfs.DataNode$PacketResponder: PacketResponder <n> for block'
    assert any(named in m for m in marker_lines(out))


def test_apache_bracket_timestamps_keep_every_error_line() -> None:
    lines = []
    for i in range(400):
        ts = f"[Sun Dec 04 {4 + i // 60:02d}:{i % 60:02d}:44 2005]"
        if i % 7 == 3:
            lines.append(f"{ts} [error] mod_jk child workerEnv in error state {6 + i % 3}")
        elif i % 2:
            lines.append(f"{ts} [notice] jk2_init() Found child {6000 + i} in scoreboard slot {i % 10}")
        else:
            lines.append(f"{ts} [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties")
    forbidden = (
        "[Mon Dec 05 01:04:31 2005] [error] [client 218.62.18.218] "
        "Directory index forbidden by rule: /var/www/html/"
    )
    lines.insert(200, forbidden)
    text = "\n".join(lines)
    out = logs.compress(text, make_unit(text))
    assert out is not None
    kept = set(out.split("\n"))
    errors = [line for line in lines if "[error]" in line]
    assert all(e in kept for e in errors)
    assert forbidden in kept
    dropped_notices = [line for line in lines if "[notice]" in line and line not in kept]
    assert len(dropped_notices) > 100
    check_accounting(text, out)


def test_apache_exact_repeats_collapse_and_say_so() -> None:
    base = [
        f"[Sun Dec 04 05:{i:02d}:00 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties"
        for i in range(40)
    ]
    repeated = "[Sun Dec 04 06:00:00 2005] [error] mod_jk child workerEnv in error state 6"
    lines = base[:20] + [repeated] * 5 + base[20:]
    text = "\n".join(lines)
    out = logs.compress(text, make_unit(text))
    assert out is not None
    assert out.split("\n").count(repeated) == 1
    assert any("4 repeats of the line above" in m for m in marker_lines(out))
    check_accounting(text, out)


def test_openssh_user_names_do_not_make_every_line_rare() -> None:
    rnd = random.Random(3)
    users = [f"user{c}{k}" for c in "abcdefghij" for k in "xyz"]
    lines = []
    for i in range(300):
        pid = 24200 + i
        ip = f"{rnd.randint(1, 223)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}"
        user = rnd.choice(users).replace("user", "")
        lines.append(f"Dec 10 06:55:{i % 60:02d} LabSZ sshd[{pid}]: Invalid user {user} from {ip}")
        lines.append(
            f"Dec 10 06:55:{i % 60:02d} LabSZ sshd[{pid}]: input_userauth_request: "
            f"invalid user {user} [preauth]"
        )
    accepted = (
        "Dec 10 09:32:20 LabSZ sshd[24680]: Accepted password for fztu from 119.137.62.142 port 49116 ssh2"
    )
    too_many = "Dec 10 10:14:13 LabSZ sshd[24833]: Disconnecting: Too many authentication failures for admin"
    also = "Dec 10 10:15:13 LabSZ sshd[24834]: Disconnecting: Too many authentication failures for root"
    lines[100:100] = [accepted, too_many]
    lines[400:400] = [also, also.replace("24834", "24835"), also.replace("24834", "24836")]
    text = "\n".join(lines)
    out = logs.compress(text, make_unit(text))
    assert out is not None
    kept = out.split("\n")
    assert accepted in kept
    assert too_many in kept  # a rare variant of a template with few variants is still rare
    assert len(kept) < 60
    check_accounting(text, out)


def test_spark_java_stack_trace_is_kept_whole() -> None:
    lines = [
        f"17/06/09 20:{10 + i // 60:02d}:{i % 60:02d} INFO executor.Executor: "
        f"Running task {i}.0 in stage 1.0 (TID {i})"
        for i in range(200)
    ]
    trace = [
        "17/06/09 20:14:00 ERROR executor.Executor: Exception in task 3.0 in stage 1.0 (TID 3)",
        "java.io.IOException: Connection reset by peer",
        "\tat sun.nio.ch.FileDispatcherImpl.read0(Native Method)",
        "\tat org.apache.spark.network.util.TransportFrameDecoder.channelRead(TransportFrameDecoder.java:85)",
        "\t... 12 more",
        "Caused by: java.lang.IllegalStateException: boom",
        "\tat org.apache.spark.rdd.RDD.iterator(RDD.scala:270)",
    ]
    lines[120:120] = trace
    text = "\n".join(lines)
    out = logs.compress(text, make_unit(text))
    assert out is not None
    kept = out.split("\n")
    assert all(t in kept for t in trace)
    check_accounting(text, out)


def test_lines_matching_the_request_are_kept() -> None:
    lines = hdfs_log(300)
    target = lines[151]
    blk = target.split("blk_")[1].split()[0]
    text = "\n".join(lines)
    out = logs.compress(text, make_unit(text, user_request=f"What happened to block 'blk_{blk}'?"))
    assert out is not None
    assert target in out.split("\n")


def test_a_request_term_on_every_line_singles_nothing_out() -> None:
    # The tool call filtered by a name every line carries ("dfs"): it must not keep every line.
    lines = hdfs_log(300)
    text = "\n".join(lines)
    out = logs.compress(text, make_unit(text, tool_input='{"service": "dfs", "since": "08:00"}'))
    assert out is not None
    assert len(out.split("\n")) < len(lines) // 3


def test_short_or_varied_text_is_left_alone() -> None:
    short = "\n".join(hdfs_log(8))
    assert logs.compress(short, make_unit(short)) is None
    prose = "\n".join(
        f"Line {i}: the quick brown fox number {i} jumps over {chr(97 + i % 26)} dogs" for i in range(5)
    )
    assert logs.compress(prose, make_unit(prose)) is None


def test_markers_never_break_the_grammar_on_pipes_and_quotes() -> None:
    lines = [f'2024-01-01 00:00:{i % 60:02d} INFO worker | step "{i}" | ok' for i in range(100)]
    text = "\n".join(lines)
    out = logs.compress(text, make_unit(text))
    assert out is not None
    check_accounting(text, out)


def test_deterministic() -> None:
    text = "\n".join(hdfs_log(400, seed=11))
    unit = make_unit(text)
    assert logs.compress(text, unit) == logs.compress(text, unit)


def test_linear_on_adversarial_input() -> None:
    # Completes quickly only if every scan is linear: huge single lines and many tiny ones.
    for chunk in ("a", "1", "e", "-", " ", "error", "blk_", "0x", "\t", "[", "Exception", "Traceback "):
        text = chunk * (100_000 // len(chunk))
        logs.compress(text, make_unit(text))
        many = "\n".join([chunk] * 20_000)
        logs.compress(many, make_unit(many))


LEVELS = ["INFO", "DEBUG", "WARN", "ERROR", "FATAL"]
WORDS = ["alpha", "beta", "gamma", "delta", "worker", "block", "task", "stage", "exception", "Error:"]


@st.composite
def log_texts(draw: st.DrawFn) -> str:
    templates = draw(
        st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6), min_size=1, max_size=6)
    )
    n = draw(st.integers(min_value=0, max_value=120))
    lines = []
    for i in range(n):
        level = draw(st.sampled_from(LEVELS))
        words = " ".join(draw(st.sampled_from(templates)))
        lines.append(
            f"2024-05-0{1 + i % 9} 12:{i % 60:02d}:{draw(st.integers(0, 59)):02d} {level} {words} id={i * 37}"
        )
    if draw(st.booleans()):
        lines.insert(len(lines) // 2, draw(st.text(max_size=80)).replace("\n", " "))
    if draw(st.booleans()) and lines:
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, f"2024-05-01 12:00:00 INFO {RARE} happened once")
    if draw(st.booleans()) and lines:
        at = draw(st.integers(0, len(lines)))
        lines[at:at] = TRACE
    return "\n".join(lines)


RARE = "checkpoint_restored_from_snapshot"
TRACE = [
    "Traceback (most recent call last):",
    '  File "/srv/app/worker.py", line 88, in run',
    "    self.step()",
    "KeyError: 'missing'",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_texts())
def test_properties_on_generated_logs(text: str) -> None:
    unit = make_unit(text)
    out = logs.compress(text, unit)
    assert out == logs.compress(text, unit)
    if out is None:
        return
    check_accounting(text, out)
    kept = set(out.split("\n"))
    for line in text.split("\n"):
        if " ERROR " in line or " FATAL " in line or "exception" in line or "Error" in line:
            assert line in kept
        if RARE in line or line in TRACE:  # rare templates and stack traces
            assert line in kept


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=2000))
def test_never_raises_on_arbitrary_text(text: str) -> None:
    unit = make_unit(text)
    out = logs.compress(text, unit, min_lines=1, min_saving=0.0)
    if out is not None:
        assert_markers_valid(out, unit)


def test_marker_templates_drop_timestamps_but_not_paths() -> None:
    lines = [
        f"/opt/app/io.py:{i}: ResourceWarning: unclosed file <_io.TextIOWrapper name={i}>" for i in range(60)
    ]
    text = "\n".join(lines)
    out = logs.compress(text, make_unit(text))
    assert out is not None
    assert any('x "/opt/app/io.py:<n>: ResourceWarning: unclosed file' in m for m in marker_lines(out))


def test_an_unquoted_id_in_the_request_keeps_its_lines() -> None:
    lines = hdfs_log(300)
    target = lines[152]
    blk = target.split("blk_")[1].split()[0]
    text = "\n".join(lines)
    out = logs.compress(text, make_unit(text, user_request=f"what happened to blk_{blk}?"))
    assert out is not None
    assert target in out.split("\n")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_texts(), st.integers(1, 6), st.integers(0, 3), st.booleans())
def test_the_early_exit_bound_is_never_below_what_dropping_saves(
    text: str, lead: int, rare_max: int, repeats: bool
) -> None:
    """compress() gives up early when even the bound cannot reach min_saving: the bound must hold."""
    if repeats and text:  # exact repeats of the line above are droppable whatever their template
        text = "\n".join(line for line in text.split("\n") for _ in range(2))
    unit = make_unit(text)
    out = logs.compress(text, unit, lead_tokens=lead, rare_max=rare_max, min_saving=0.0, min_gap_chars=0)
    if out is None:
        return
    lines = text.split("\n")
    keys = logs.line_keys(text)
    group_of = {key: (len(key.split()), tuple(key.split()[:lead])) for key in keys}
    assert len(text) - len(out) <= logs._droppable_chars(lines, keys, group_of, rare_max)


def test_the_early_exit_keeps_a_saving_that_only_a_repeat_or_a_small_template_gives() -> None:
    filler = [f"{w} step ok" for w in ("alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta")]
    long_line = "2024-05-01 12:00:00 INFO cache " + "warm " * 400
    repeated = [*filler[:4], long_line, long_line, *filler[4:]]  # a rare line shown twice in a row
    three = [*filler[:4], *(long_line.replace("12:00:00", f"12:00:0{i}") for i in range(3)), *filler[4:]]
    for lines in (repeated, three):
        text = "\n".join(lines)
        out = logs.compress(text, make_unit(text), min_lines=8)
        assert out is not None
        assert len(out) < len(text) * 0.8
