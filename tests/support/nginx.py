"""A real nginx running the shipped site file (deploy/nginx/streamdesk.conf) on loopback.

Only what names this machine is replaced: the daphne processes in the upstream, the
listen ports and the certificate (a self-signed one for the site's server_name, made
here). Each replacement must match exactly once, so a change to the shipped file that the
test no longer follows fails loudly instead of testing something else.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.processes import (
    PortClash,
    spawn,
    terminate,
    unused_port,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
SITE_FILE = ROOT / "deploy" / "nginx" / "streamdesk.conf"
SERVER_NAME = "desk.example.com"


def nginx_binary() -> str:
    path = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(path):
        raise RuntimeError("nginx is not installed (scripts/test.sh installs it)")
    return path


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate and key for `name`, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _replace_once(text: str, pattern: str, replacement: str) -> str:
    new, count = re.subn(pattern, lambda _match: replacement, text, flags=re.MULTILINE)
    if count != 1:
        raise AssertionError(f"{SITE_FILE.name}: expected one match for {pattern!r}, got {count}")
    return new


def site_config(upstreams: list[int], https_port: int, http_port: int, certs: Path) -> str:
    """The shipped site file, pointed at this machine."""
    cert, key = self_signed(certs, SERVER_NAME)
    text = SITE_FILE.read_text()
    servers = "".join(f"    server 127.0.0.1:{port};\n" for port in upstreams)
    text = _replace_once(text, r"^(    server 127\.0\.0\.1:\d+;\n)+", servers)
    text = _replace_once(text, r"^    listen 80;$", f"    listen 127.0.0.1:{http_port};")
    text = _replace_once(text, r"^    listen \[::\]:80;\n", "")
    text = _replace_once(
        text, r"^    listen 443 ssl http2;$", f"    listen 127.0.0.1:{https_port} ssl http2;"
    )
    text = _replace_once(text, r"^    listen \[::\]:443 ssl http2;\n", "")
    text = _replace_once(text, r"^    ssl_certificate .*$", f"    ssl_certificate {cert};")
    text = _replace_once(text, r"^    ssl_certificate_key .*$", f"    ssl_certificate_key {key};")
    return text


class Nginx:
    """`nginx -c <dir>/nginx.conf` (a minimal main file including the site) in the
    foreground, its logs and temporary files in `workdir`."""

    def __init__(self, workdir: Path, upstreams: list[int]) -> None:
        self.dir = workdir
        self.upstreams = upstreams
        self._ports()
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp = "\n".join(
            f"    {kind}_temp_path {self.dir / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        self.config = self.dir / "nginx.conf"
        self.config.write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {self.dir / 'nginx.pid'};\n"
            f"error_log {self.dir / 'error.log'} info;\n"
            "events { worker_connections 256; }\n"
            "http {\n    include /etc/nginx/mime.types;\n"
            f"    access_log {self.dir / 'access.log'};\n{temp}\n"
            f"    include {self.dir / 'streamdesk.conf'};\n}}\n"
        )
        self._proc: subprocess.Popen[bytes] | None = None

    def _ports(self) -> None:
        """Two ports nothing listens on now, and the site file written for them."""
        self.https_port = unused_port()
        self.http_port = unused_port()
        self.url = f"https://{SERVER_NAME}:{self.https_port}"
        site = self.dir / "streamdesk.conf"
        site.write_text(site_config(self.upstreams, self.https_port, self.http_port, self.dir))

    def check(self) -> subprocess.CompletedProcess[str]:
        """`nginx -t`: the configuration as nginx reads it."""
        return subprocess.run(
            [nginx_binary(), "-t", "-p", str(self.dir), "-c", str(self.config)],
            capture_output=True,
            text=True,
            timeout=30,
        )

    def start(self, attempts: int = 5) -> Nginx:
        """`nginx -t`, then nginx, until it answers; on other ports while another process
        took one of its ports first."""
        checked = self.check()
        if checked.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{checked.stderr}")
        for attempt in range(attempts):
            try:
                return self._start()
            except PortClash:
                if attempt == attempts - 1:
                    raise
                self._ports()
        raise AssertionError("unreachable")

    def _start(self) -> Nginx:
        (self.dir / "error.log").unlink(missing_ok=True)
        self._log = open(self.dir / "nginx.out", "wb")  # noqa: SIM115 - closed in stop()
        self._proc = spawn(
            [nginx_binary(), "-p", str(self.dir), "-c", str(self.config)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

        def answers() -> bool:
            try:
                # nginx itself answers (the port-80 redirect), whatever the app does
                client.get(f"http://127.0.0.1:{self.http_port}/", headers={"Host": "x"})
                return True
            except httpx.TransportError:
                return False

        with httpx.Client(verify=False, timeout=1) as client:
            wait_for(answers, self._proc, 15, "nginx", self.dir / "error.log")
        return self

    def error_log(self) -> str:
        path = self.dir / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        terminate(self._proc)  # SIGTERM: nginx's fast shutdown
        if getattr(self, "_log", None):
            self._log.close()
