"""A private CA and a real forward proxy (Debian's tinyproxy), as an enterprise network has.

- `PrivateCA(tmp)`: a CA certificate made for the test, and a server certificate for
  127.0.0.1 it signs; `server_context()` serves the emulator over TLS with it.
- `TinyProxy(tmp)`: tinyproxy on a free loopback port with a generated configuration,
  logging every CONNECT; `connects()` lists the `host:port` each tunnel went to.
  `TinyProxy(tmp, credentials=(user, password))` asks for them (Basic auth).

A missing tinyproxy skips locally and fails under CI (skip_or_fail); `.ci/run`
installs it.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.redis_helpers import skip_or_fail

# tinyproxy's log line for a tunnel: "... Request (file descriptor 5): CONNECT host:port HTTP/1.1"
_CONNECT = re.compile(r"Request \(file descriptor \d+\): CONNECT (\S+) HTTP/")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivateCA:
    """A throwaway CA (never in any trust store) and a 127.0.0.1 server certificate."""

    def __init__(self, directory: Path, name: str = "admin-gateway test CA") -> None:
        now = datetime.datetime.now(datetime.UTC)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.ca_cert = (
            x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
            .public_key(self.ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(self.ca_key, hashes.SHA256()))
        server_key = ec.generate_private_key(ec.SECP256R1())
        server_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        server_cert = (
            x509.CertificateBuilder().subject_name(server_name).issuer_name(ca_name)
            .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(self.ca_key, hashes.SHA256()))
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_file = directory / "private-ca.pem"
        self.ca_file.write_bytes(self.ca_cert.public_bytes(serialization.Encoding.PEM))
        self.cert_file = directory / "server.pem"
        self.cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
        self.key_file = directory / "server.key"
        self.key_file.write_bytes(server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        self.key_file.chmod(0o600)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


class TinyProxy:
    """tinyproxy in the foreground on a free loopback port; stopped by its `with` block."""

    def __init__(self, directory: Path, credentials: tuple[str, str] | None = None) -> None:
        program = shutil.which("tinyproxy") or shutil.which("tinyproxy",
                                                            path="/usr/bin:/usr/sbin")
        if program is None:
            skip_or_fail("tinyproxy is not installed (apt-get install tinyproxy)")
        assert program is not None
        self.program = program
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if credentials:
            self.url = f"http://{credentials[0]}:{credentials[1]}@127.0.0.1:{self.port}"
        directory.mkdir(parents=True, exist_ok=True)
        self.log_file = directory / "tinyproxy.log"
        self.config = directory / "tinyproxy.conf"
        # No ConnectPort line: CONNECT to any port (the emulator's is random).
        self.config.write_text("\n".join([
            f"Port {self.port}", "Listen 127.0.0.1", "Timeout 30",
            f'LogFile "{self.log_file}"', "LogLevel Connect",
            f'PidFile "{directory / "tinyproxy.pid"}"', "MaxClients 50",
            "Allow 127.0.0.1",
            *([f"BasicAuth {credentials[0]} {credentials[1]}"] if credentials else []), ""]))
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> TinyProxy:
        self._process = subprocess.Popen([self.program, "-d", "-c", str(self.config)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self._process.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"tinyproxy did not start: {self.log_text()}")

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def connects(self) -> list[str]:
        """`host:port` of every CONNECT tunnel the proxy opened, in order."""
        return _CONNECT.findall(self.log_text())

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)

    def __enter__(self) -> TinyProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
