"""A small fake language-model server on 127.0.0.1, for tests that need real HTTP.

It speaks just enough of two APIs, non-streaming:

- OpenAI-compatible ``POST /v1/chat/completions`` (point ``LLM_BASE_URL`` at ``fake.base_url``);
- Anthropic ``POST /v1/messages`` (point ``LLM_BASE_URL`` at ``fake.url``; the SDK adds ``/v1``).

Each request is answered by the next behaviour of a script; the same behaviour renders as
an OpenAI ``tool_calls`` message or an Anthropic ``tool_use`` block, whichever was asked.
The server runs in a thread of the test process, so a Celery worker in a subprocess can
talk to it while the test scripts it and reads what it received::

    with fake_openai_server() as fake:
        fake.script(
            [malformed(), tool_output({"campaign_id": 1, ...})],
            # every later request: an answer built from what the request carried
            then=tool_output(lambda request: plan_for(request.data["campaign_id"])),
        )
        settings.LLM_PROVIDER, settings.LLM_BASE_URL = "openai", fake.base_url
        ...
        fake.wait_for_requests(2, timeout=10)
        assert fake.requests[0].output_tool_name == "final_result"

A Celery worker in a subprocess uses it through its environment: ``LLM_PROVIDER=openai``,
``LLM_BASE_URL=<fake.base_url>``, ``LLM_MODEL=<any name>``. To kill a worker mid-request,
script ``slow(60, ...)``, ``fake.wait_for_requests(1)``, then kill it; the next request
(from the restarted run) gets the next behaviour.

When the script runs out (and no ``then`` was given) the server answers HTTP 500 with
"fake server: script exhausted", so an unexpected extra request fails loudly.

Behaviours: ``tool_output(payload | callable)`` — a call to the output tool the request
offers (the callable gets the :class:`RecordedRequest` and returns the arguments);
``malformed(arguments=...)`` — a call whose arguments are broken JSON, or a given object
with the wrong fields; ``text(...)`` — plain text instead of a tool call;
``http_error(status)``; ``slow(seconds, then=behaviour)`` — sleep first (timeouts).
Every answer carries realistic ``usage`` token counts (``usage=(input, output)`` to choose).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_USAGE = (321, 123)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received, parsed. ``dialect`` is "openai" or "anthropic"."""

    path: str
    headers: Mapping[str, str]
    body: dict[str, Any]
    dialect: str

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list(self.body.get("tools") or [])

    @property
    def tool_names(self) -> list[str]:
        if self.dialect == "anthropic":
            return [tool["name"] for tool in self.tools]
        return [tool["function"]["name"] for tool in self.tools if tool.get("type") == "function"]

    @property
    def output_tool_name(self) -> str:
        """The tool a structured answer must call: the one the client made compulsory,
        else the only one offered, else pydantic-ai's default name."""
        choice = self.body.get("tool_choice")
        if isinstance(choice, dict):
            named = (choice.get("function") or {}).get("name") or choice.get("name")
            if named:
                return named
        names = self.tool_names
        return names[0] if len(names) == 1 else "final_result"

    @property
    def output_tool_schema(self) -> dict[str, Any]:
        for tool in self.tools:
            if self.dialect == "anthropic" and tool.get("name") == self.output_tool_name:
                return tool.get("input_schema") or {}
            function = tool.get("function") or {}
            if function.get("name") == self.output_tool_name:
                return function.get("parameters") or {}
        return {}

    @property
    def system_text(self) -> str:
        """Everything sent in the system/instructions part."""
        if self.dialect == "anthropic":
            system = self.body.get("system") or ""
            return system if isinstance(system, str) else _join_text(system)
        return "\n".join(
            _join_text(message.get("content"))
            for message in self.body.get("messages", [])
            if message.get("role") in ("system", "developer")
        )

    @property
    def user_text(self) -> str:
        """Everything sent in user messages (tool results and retry prompts included)."""
        return "\n".join(
            _join_text(message.get("content"))
            for message in self.body.get("messages", [])
            if message.get("role") == "user"
        )

    @property
    def first_user_text(self) -> str:
        for message in self.body.get("messages", []):
            if message.get("role") == "user":
                return _join_text(message.get("content"))
        return ""

    @property
    def data(self) -> dict[str, Any]:
        """The ``data`` generate() was given, parsed back from the framed JSON document
        (so a behaviour can build its answer from it, e.g. echo ``campaign_id``)."""
        found = re.search(r"<campaign_data>(.*)</campaign_data>", self.first_user_text, re.S)
        if found is None:
            raise AssertionError("no <campaign_data> frame in the first user message")
        # The frame escapes the "<" of tag lookalikes inside the data as "&lt;".
        return json.loads(found.group(1).replace("&lt;", "<"))


@dataclass(frozen=True)
class Reply:
    """What a behaviour answers, before it is rendered in the request's dialect."""

    status: int = 200
    tool_arguments: str | None = None  # raw JSON text (may be deliberately broken)
    tool_name: str | None = None  # None: the request's output tool
    text: str | None = None
    error_body: dict[str, Any] | None = None
    usage: tuple[int, int] = DEFAULT_USAGE


Behaviour = Callable[[RecordedRequest], Reply]


def tool_output(
    payload: Mapping[str, Any] | Callable[[RecordedRequest], Mapping[str, Any]],
    *,
    usage: tuple[int, int] = DEFAULT_USAGE,
    tool_name: str | None = None,
) -> Behaviour:
    """Call the request's output tool with ``payload`` (or what ``payload(request)`` builds)."""

    def behaviour(request: RecordedRequest) -> Reply:
        arguments = payload(request) if callable(payload) else payload
        return Reply(tool_arguments=json.dumps(arguments), tool_name=tool_name, usage=usage)

    return behaviour


def malformed(
    arguments: str | Mapping[str, Any] = '{"campaign_id": 1, "steps": [',
    *,
    usage: tuple[int, int] = DEFAULT_USAGE,
) -> Behaviour:
    """Call the output tool with broken JSON (a string) or an object with wrong fields."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return lambda request: Reply(tool_arguments=raw, usage=usage)


def text(content: str, *, usage: tuple[int, int] = DEFAULT_USAGE) -> Behaviour:
    """Answer in prose instead of calling a tool."""
    return lambda request: Reply(text=content, usage=usage)


def http_error(status: int = 500, message: str = "The fake server had a bad day.") -> Behaviour:
    body = {"error": {"message": message, "type": "server_error", "code": None}}
    return lambda request: Reply(status=status, error_body=body)


@dataclass(frozen=True)
class _Slow:
    seconds: float
    then: Behaviour

    def __call__(self, request: RecordedRequest) -> Reply:
        return self.then(request)


def slow(seconds: float, then: Behaviour | None = None) -> Behaviour:
    """Wait ``seconds`` before answering with ``then`` (default: a 500). Closing the server
    cuts the wait short, so a test never hangs on it."""
    return _Slow(seconds, then or http_error(500, "answered too late"))


_EXHAUSTED = http_error(500, "fake server: script exhausted")


@dataclass
class FakeLLMServer:
    """The running server. ``requests`` lists what it received, oldest first."""

    url: str
    requests: list[RecordedRequest] = field(default_factory=list)
    _script: deque[Behaviour] = field(default_factory=deque)
    _then: Behaviour | None = None
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _closing: threading.Event = field(default_factory=threading.Event)

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (``…/v1``)."""
        return f"{self.url}/v1"

    def script(self, behaviours: Iterable[Behaviour], *, then: Behaviour | None = None) -> None:
        """Answer the next requests with ``behaviours`` in order, then every later one with
        ``then``. Replaces any script still queued; keeps the recorded requests."""
        with self._lock:
            self._script = deque(behaviours)
            self._then = then

    def wait_for_requests(self, count: int, timeout: float = 10) -> list[RecordedRequest]:
        """Block until at least ``count`` requests have arrived (e.g. before killing a worker
        mid-request); raises AssertionError after ``timeout`` seconds."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(
                    f"the fake LLM server saw {len(self.requests)} requests, expected {count}"
                )
            return list(self.requests)

    def _next(self, request: RecordedRequest) -> Behaviour:
        with self._lock:
            self.requests.append(request)
            self._lock.notify_all()
            if self._script:
                return self._script.popleft()
            return self._then or _EXHAUSTED

    def _answer(self, request: RecordedRequest) -> Reply:
        behaviour = self._next(request)
        if isinstance(behaviour, _Slow):
            self._closing.wait(behaviour.seconds)
        return behaviour(request)


@contextmanager
def fake_openai_server() -> Iterator[FakeLLMServer]:
    """Start the fake server on a free port of 127.0.0.1; stop it on exit."""
    state: FakeLLMServer | None = None

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs expect

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._send(400, {"error": {"message": "request body is not JSON"}})
                return
            path = self.path.split("?", 1)[0]
            if path.endswith("/chat/completions"):
                dialect = "openai"
            elif path.endswith("/messages"):
                dialect = "anthropic"
            else:
                self._send(404, {"error": {"message": f"no route for {path}"}})
                return
            request = RecordedRequest(
                path=path,
                headers={key.lower(): value for key, value in self.headers.items()},
                body=body,
                dialect=dialect,
            )
            assert state is not None
            reply = state._answer(request)
            if state._closing.is_set():
                return
            if reply.status != 200:
                self._send(reply.status, reply.error_body or {})
            elif dialect == "openai":
                self._send(200, _openai_completion(request, reply))
            else:
                self._send(200, _anthropic_message(request, reply))

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout): nothing to answer

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    state = FakeLLMServer(url=f"http://{host}:{port}")
    thread = threading.Thread(target=server.serve_forever, name="fake-llm", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state._closing.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _openai_completion(request: RecordedRequest, reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    finish_reason = "stop"
    if reply.tool_arguments is not None:
        message["tool_calls"] = [
            {
                "id": f"call_{len(request.body.get('messages', []))}",
                "type": "function",
                "function": {
                    "name": reply.tool_name or request.output_tool_name,
                    "arguments": reply.tool_arguments,
                },
            }
        ]
        finish_reason = "tool_calls"
    input_tokens, output_tokens = reply.usage
    return {
        "id": f"chatcmpl-fake-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.body.get("model", "fake"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        },
    }


def _anthropic_message(request: RecordedRequest, reply: Reply) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    stop_reason = "end_turn"
    if reply.text is not None:
        content.append({"type": "text", "text": reply.text})
    if reply.tool_arguments is not None:
        try:
            arguments: Any = json.loads(reply.tool_arguments)
        except ValueError:
            # Anthropic sends tool input as a JSON object, never as text: broken JSON can
            # only reach the client as an object of the wrong shape.
            arguments = {"raw": reply.tool_arguments}
        content.append(
            {
                "type": "tool_use",
                "id": f"toolu_fake_{len(request.body.get('messages', []))}",
                "name": reply.tool_name or request.output_tool_name,
                "input": arguments,
            }
        )
        stop_reason = "tool_use"
    input_tokens, output_tokens = reply.usage
    return {
        "id": f"msg_fake_{time.monotonic_ns()}",
        "type": "message",
        "role": "assistant",
        "model": request.body.get("model", "fake"),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def _join_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
        )
    return str(content)
