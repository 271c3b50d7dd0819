"""A bounded, deterministic fuzz run of an OpenAPI description against a live server
(tests/e2e/test_api_fuzz.py): schemathesis generates each operation's cases from the
description (valid ones, and ones that break it on purpose), hypothesis runs them
derandomized with a fixed number per operation, and every answer is checked. Findings are
collected, not raised at the first, so one run names them all, each with a `curl` that
reproduces it.

The checks: no 500 ever (another 5xx only where documented); no HTML; the status, content
type and body as documented (schemathesis' conformance checks); a request that breaks the
description refused with a 4xx (`negative_data_rejection`); and, for the app, every 4xx a
JSON body with `message`, a sentence (the sandbox's façades pass their brokers' own error
check instead).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import CheckFunction
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

#: schemathesis' checks of an answer against the description: its status, its content
#: type and its body as described (the brokers' error shapes too).
DESCRIBED: tuple[CheckFunction, ...] = (
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)
#: The app's answers also refuse every request that breaks the description (a 4xx).
CONFORMANCE: tuple[CheckFunction, ...] = (*DESCRIBED, negative_data_rejection)
#: A request's bound (s): a live endpoint's longest wait (the risk curve's 3 s for a
#: snapshot and 2 s for a first quote) with a margin for a loaded box.
REQUEST_TIMEOUT = 30.0
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)

#: A check of our own: a problem in words, or None.
AnswerCheck = Callable[[requests.Response], str | None]


@dataclass(frozen=True)
class Finding:
    """One kind of failure of one operation, for one caller; `seen` times in the run."""

    operation: str
    who: str
    check: str
    status: int
    detail: str
    curl: str


@dataclass
class FuzzRun:
    """What a run did: the operations, the cases sent, the statuses, the findings."""

    who: str
    operations: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    seen: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    seconds: float = 0.0

    def record(self, finding: Finding) -> None:
        key = (finding.operation, finding.check, finding.detail.splitlines()[0][:80])
        self.findings.setdefault(key, finding)
        self.seen[key] += 1

    def report(self) -> str:
        lines = [
            f"{self.who}: {len(self.operations)} operations, {self.cases} cases, "
            f"{len(self.findings)} findings in {self.seconds:.1f} s; statuses "
            + ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        ]
        lines += [f"  not fuzzed: {what}: {why}" for what, why in sorted(self.skipped.items())]
        for key, finding in sorted(self.findings.items()):
            lines.append(
                f"- {finding.operation} [{finding.check}] {finding.status} x{self.seen[key]}: "
                f"{finding.detail}\n    {finding.curl}"
            )
        return "\n".join(lines)


def html_answer(response: requests.Response) -> str | None:
    """An HTML answer (Django's error pages) where the API answers JSON."""
    if response.headers.get("Content-Type", "").startswith("text/html"):
        return f"text/html: {response.text[:80]!r}"
    return None


def error_in_words(response: requests.Response) -> str | None:
    """A 4xx (a body-less 401/405/429 too) whose body is not JSON with `message`, a
    non-empty sentence."""
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:80]!r}"
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message.strip():
        return f"no message: {response.text[:120]}"
    if message.rstrip()[-1] not in ".!?":
        return f"message is not a sentence: {message!r}"
    return None


def no_500(response: requests.Response) -> str | None:
    if response.status_code == 500:
        return f"500: {response.text[:120]!r}"
    return None


def no_5xx(response: requests.Response) -> str | None:
    """No server error at all (a broker's façade documents none)."""
    if response.status_code >= 500:
        return f"{response.status_code}: {response.text[:120]!r}"
    return None


def _failures(error: BaseException) -> Iterable[Failure]:
    if isinstance(error, FailureGroup):
        return error.exceptions
    if isinstance(error, Failure):
        return [error]
    raise error


def fuzz(
    schema: Any,
    *,
    who: str,
    base_url: str,
    session: requests.Session,
    max_examples: int,
    exclude: Mapping[str, str],
    answer_checks: Iterable[AnswerCheck] = (no_500, html_answer, error_in_words),
    conformance: Iterable[CheckFunction] = CONFORMANCE,
    headers: Mapping[str, str] | None = None,
    path_parameters: Mapping[str, str] | None = None,
) -> FuzzRun:
    """Every operation of `schema` (but `exclude`'s, with their reasons), `max_examples`
    cases each of valid and of broken input, as `who` (`session`'s cookies, `headers`);
    `path_parameters` fixes those path parameters (an account of the caller's) wherever
    an operation has them."""
    run = FuzzRun(who)
    checks = list(answer_checks)
    sending = Sending(base_url, session, dict(headers or {}), list(conformance))
    began = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        label = operation.label
        if label in exclude:
            run.skipped[label] = exclude[label]
            continue
        run.operations.append(label)
        fixed = {
            name: value
            for name, value in (path_parameters or {}).items()
            if "{" + name + "}" in operation.path
        }
        for mode in MODES:
            _fuzz_operation(operation, mode, fixed, run, checks, sending, max_examples)
    run.seconds = time.monotonic() - began
    return run


@dataclass(frozen=True)
class Sending:
    """Where and how each case is sent, and the description's checks of its answer."""

    base_url: str
    session: requests.Session
    headers: dict[str, str]
    conformance: list[CheckFunction]


def _fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    path_parameters: dict[str, str],
    run: FuzzRun,
    checks: list[AnswerCheck],
    sending: Sending,
    max_examples: int,
) -> None:
    def send(case: schemathesis.Case) -> None:
        response = case.call(
            base_url=sending.base_url,
            session=sending.session,
            headers=dict(sending.headers),
            timeout=REQUEST_TIMEOUT,
        )
        run.cases += 1
        run.statuses[response.status_code] += 1
        curl = case.as_curl_command(headers=dict(response.request.headers))
        for check in checks:
            if (problem := check(response)) is not None:
                run.record(
                    Finding(
                        case.operation.label,
                        run.who,
                        check.__name__,
                        response.status_code,
                        problem,
                        curl,
                    )
                )
        try:
            case.validate_response(response, checks=sending.conformance)
        except (Failure, FailureGroup) as error:
            for failure in _failures(error):
                run.record(
                    Finding(
                        case.operation.label,
                        run.who,
                        failure.title,
                        response.status_code,
                        failure.message.strip()[:300],
                        curl,
                    )
                )

    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None)
    test = hypothesis.given(strategy)(send)
    test = hypothesis.settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )(test)
    try:
        test()
    except hypothesis.errors.Unsatisfiable:
        run.skipped[f"{operation.label} ({mode.value})"] = "nothing to generate in this mode"
