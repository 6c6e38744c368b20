"""`mesos-master`: a stand-in for Apache Mesos' master binary, for hosts that a role configures.

It takes mesos-master's own flags (`--name=value`, `--name` / `--no-name` for booleans) and the
same `MESOS_<NAME>` environment variables (command line wins; unknown `MESOS_*` variables are
ignored, unknown command-line flags refused), then does what mesos-master does before it serves:

- loads the modules manifest of `--modules` (inline JSON, `file://` or a bare absolute path) or
  every file of `--modules_dir`, refusing both at once;
- opens each library with the system's dynamic loader (`dlopen`, RTLD_NOW), looks up each
  module's symbol and checks the `ModuleBase` record found there (module API version, kind,
  the Mesos version it was built against) the way src/module/manager.cpp does;
- creates the `--allocator` (the built-in `HierarchicalDRF` or a loaded Allocator module).

Each failure ends the process with status 1 and mesos-master's own text on stderr
(src/master/main.cpp, src/module/manager.cpp; /work/shared/REAL-MESOS.md quotes measured ones).
Then it serves the simulated master HTTP API (mesos_sim.master) on `--ip:--port`, with
`/allocator/filters` only when the Offer Filtering Allocator module is loaded *and* selected.

Leader election: without `--zk` the master appoints itself (standalone). With
`--zk=zk://host:port,.../path` it contends in ZooKeeper as Mesos does: an ephemeral sequential
znode `json.info_<seq>` holding its MasterInfo as JSON; the lowest sequence number leads, once
`--quorum` masters are contending (the replicated log needs a quorum to recover). A leader that
loses its znode or its session exits ("Lost leadership... committing suicide!"), so a service
manager's restart brings it back as a standby. The later module build persists its filters in
ZooKeeper at `<zk_url path>/filtered-agents` (as the GET body JSON) when `zk_url` is given.

Not Mesos flags, read from the environment only: `MESOS_SIM_VERSION` (the Mesos version this
binary reports and checks modules against, default 1.0.1) and `MESOS_SIM_AGENTS` (how many
simulated agents the cluster has, default 3; ids derive from the ZooKeeper URL, so every master
of one cluster knows the same agents).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass

from . import allocator, stout_json
from .cluster import Cluster
from .master import MasterApp
from .state import MasterInfo

# include/mesos/module.hpp MESOS_MODULE_API_VERSION: "2" since Mesos 0.21.0 (1.0.1 and 1.11 alike;
# a real 1.11.0 master says "Module API version mismatch. Mesos has: 2, library requires: 1").
MODULE_API_VERSION = "2"
DEFAULT_ALLOCATOR = "HierarchicalDRF"
ALLOCATOR_MODULE = allocator.MODULE_NAME
# src/module/manager.cpp, ModuleManager::initialize (1.0.x: every kind's minimum is MESOS_VERSION).
KINDS = (
    "Allocator",
    "Anonymous",
    "Authenticatee",
    "Authenticator",
    "Authorizer",
    "ContainerLogger",
    "Hook",
    "HttpAuthenticator",
    "Isolator",
    "MasterContender",
    "MasterDetector",
    "QoSController",
    "ResourceEstimator",
    "TestModule",
)

# Flags of mesos-master 1.0.x (src/master/flags.cpp, src/master/main.cpp) with their defaults;
# None = optional without default. Booleans are listed in BOOLEANS.
FLAGS: dict[str, str | None] = {
    "acls": None,
    "advertise_ip": None,
    "advertise_port": None,
    "agent_ping_timeout": "15secs",
    "agent_removal_rate_limit": None,
    "agent_reregister_timeout": "10mins",
    "allocation_interval": "1secs",
    "allocator": DEFAULT_ALLOCATOR,
    "authenticate_agents": "false",
    "authenticate_frameworks": "false",
    "authenticate_http": "false",
    "authenticate_http_frameworks": "false",
    "authenticate_http_readonly": "false",
    "authenticate_http_readwrite": "false",
    "authenticators": "crammd5",
    "authorizers": "local",
    "cluster": None,
    "credentials": None,
    "external_log_file": None,
    "firewall_rules": None,
    "framework_sorter": "drf",
    "help": "false",
    "hooks": None,
    "hostname": None,
    "hostname_lookup": "true",
    "http_authenticators": None,
    "http_framework_authenticators": None,
    "initialize_driver_logging": "true",
    "ip": None,
    "ip_discovery_command": None,
    "log_auto_initialize": "true",
    "log_dir": None,
    "logbufsecs": "0",
    "logging_level": "INFO",
    "master_contender": None,
    "master_detector": None,
    "max_agent_ping_timeouts": "5",
    "max_completed_frameworks": "50",
    "max_completed_tasks_per_framework": "1000",
    "max_executors_per_agent": None,
    "modules": None,
    "modules_dir": None,
    "offer_timeout": None,
    "port": "5050",
    "quiet": "false",
    "quorum": None,
    "recovery_agent_removal_limit": "100%",
    "registry": "replicated_log",
    "registry_fetch_timeout": "1mins",
    "registry_gc_interval": "15mins",
    "registry_max_agent_age": "2weeks",
    "registry_max_agent_count": "102400",
    "registry_store_timeout": "20secs",
    "registry_strict": "false",
    "roles": None,
    "root_submissions": "true",
    "user_sorter": "drf",
    "version": "false",
    "webui_dir": "/usr/share/mesos/webui",
    "weights": None,
    "whitelist": None,
    "work_dir": None,
    "zk": None,
    "zk_session_timeout": "10secs",
}
BOOLEANS = {
    "authenticate_agents",
    "authenticate_frameworks",
    "authenticate_http",
    "authenticate_http_frameworks",
    "authenticate_http_readonly",
    "authenticate_http_readwrite",
    "help",
    "hostname_lookup",
    "initialize_driver_logging",
    "log_auto_initialize",
    "quiet",
    "registry_strict",
    "root_submissions",
    "version",
}
# Deprecated names that stout maps to the current flag (src/master/flags.cpp).
ALIASES = {
    "authenticate": "authenticate_frameworks",
    "authenticate_slaves": "authenticate_agents",
    "slave_ping_timeout": "agent_ping_timeout",
    "max_slave_ping_timeouts": "max_agent_ping_timeouts",
    "slave_removal_rate_limit": "agent_removal_rate_limit",
    "slave_reregister_timeout": "agent_reregister_timeout",
}


class Exit(Exception):
    """mesos-master ends with this text on stderr and this status (EXIT(EXIT_FAILURE) << ...)."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.message = message
        self.status = status


def usage(message: str | None = None) -> str:
    """stout's FlagsBase::usage: the message, a blank line, then the usage summary."""
    lines = []
    if message:
        lines += [message, ""]
    lines.append("Usage: mesos-master [options]")
    lines.append("")
    for name in sorted(FLAGS):
        lines.append(f"  --{'[no-]' if name in BOOLEANS else ''}{name}{'' if name in BOOLEANS else '=VALUE'}")
    return "\n".join(lines)


# --- flags ------------------------------------------------------------------------------
def load_flags(argv: list[str], environ: dict[str, str]) -> dict[str, str]:
    """stout's FlagsBase::load("MESOS_", argc, argv): known MESOS_* variables first, then the
    command line over them. Values stay strings; parse them where they are used."""
    values = {name: default for name, default in FLAGS.items() if default is not None}
    for key, value in environ.items():
        if not key.startswith("MESOS_"):
            continue
        name = ALIASES.get(key[6:].lower(), key[6:].lower())
        if name in FLAGS:
            values[name] = value
        elif name.startswith("no-") and name[3:] in BOOLEANS:
            values[name[3:]] = "false"
    seen = set()
    for arg in argv:
        if not arg.startswith("--"):
            continue  # stout leaves non-flag arguments alone
        body = arg[2:]
        name, eq, value = body.partition("=")
        negated = False
        if not eq and name.startswith("no-") and name[3:] in BOOLEANS:
            name, negated = name[3:], True
        name = ALIASES.get(name, name)
        if name not in FLAGS:
            raise Exit(usage(f"Failed to load unknown flag '{body.partition('=')[0]}'"))
        if name in seen:
            raise Exit(usage(f"Flag '{name}' is already loaded via '--{name}'"))
        seen.add(name)
        if name in BOOLEANS and not eq:
            value = "false" if negated else "true"
        elif not eq:
            raise Exit(usage(f"Failed to load non-boolean flag '{name}' via '{name}'"))
        values[name] = value
    for name in BOOLEANS:
        if values[name] not in ("true", "false"):
            raise bad_value(name, values[name], "Expecting a boolean (e.g., true or false)")
    for name in ("port", "quorum"):
        if name in values:
            try:
                int(values[name])
            except ValueError:
                raise bad_value(name, values[name], "Failed to convert into required type") from None
    return values


def bad_value(name: str, value: str, error: str) -> Exit:
    """stout's FlagsBase::load when a flag's value does not parse as its type."""
    return Exit(usage(f"Failed to load flag '{name}': Failed to load value '{value}': {error}"))


def fetch(value: str) -> str:
    """stout's flags::fetch: `file://path` means the file's content."""
    if value.startswith("file://"):
        path = value[7:]
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read()
        except OSError as exc:
            raise ValueError(f"Error reading file '{path}': {exc.strerror}") from None
    return value


def parse_modules(text: str) -> dict:
    """flags::parse<Modules>: JSON (or, deprecated, a bare absolute path), then the Modules
    protobuf's shape (libraries[].file|name, modules[].name, parameters[].key/value)."""
    if text.startswith("/"):
        try:
            with open(text, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise ValueError(f"Error reading file '{text}': {exc.strerror}") from None
    doc = stout_json.parse_object(text)
    _check_message(doc, {"libraries": "list"}, "Modules")
    for library in doc.get("libraries", []):
        _check_message(library, {"file": "str", "name": "str", "modules": "list"}, "Library")
        for module in library.get("modules", []):
            _check_message(module, {"name": "str", "parameters": "list"}, "Module")
            for parameter in module.get("parameters", []):
                _check_message(parameter, {"key": "str", "value": "str"}, "Parameter")
                missing = [k for k in ("key", "value") if k not in parameter]
                if missing:
                    raise ValueError(f"Missing required fields: {', '.join(missing)}")
    return doc


def _check_message(value, fields: dict, what: str):
    """protobuf::parse from JSON: objects for messages, arrays for repeated fields, strings
    for string fields (src/common/protobuf_utils / stout protobuf.hpp texts)."""
    if not isinstance(value, dict):
        raise ValueError(f"Expecting a JSON object for message '{what}'")
    for key, item in value.items():
        kind = fields.get(key)
        if kind is None:
            continue  # unknown fields are ignored by the JSON->protobuf conversion
        if kind == "list" and not isinstance(item, list):
            raise ValueError(f"Not expecting a JSON {_json_type(item)} for field '{key}'")
        if kind == "str" and not isinstance(item, str):
            raise ValueError(f"Not expecting a JSON {_json_type(item)} for field '{key}'")


def _json_type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


# --- module manager ---------------------------------------------------------------------
class ModuleBase(ctypes.Structure):
    """include/mesos/module.hpp: ModuleBase, followed in Module<T> by `create`."""

    _fields_ = [
        ("moduleApiVersion", ctypes.c_char_p),
        ("mesosVersion", ctypes.c_char_p),
        ("kind", ctypes.c_char_p),
        ("authorName", ctypes.c_char_p),
        ("authorEmail", ctypes.c_char_p),
        ("description", ctypes.c_char_p),
        ("compatible", ctypes.c_void_p),
        ("create", ctypes.c_void_p),
    ]


@dataclass
class LoadedModule:
    name: str
    library: str
    kind: str
    mesos_version: str
    description: str
    has_create: bool
    parameters: dict


def parse_version(text: str) -> tuple[int, int, int]:
    """stout Version::parse: MAJOR[.MINOR[.PATCH]], with an optional -prerelease/+build label."""
    core = re.split(r"[-+]", text, maxsplit=1)[0]
    parts = core.split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"Failed to parse '{text}' as a version")
    numbers = [int(p) for p in parts] + [0] * (3 - len(parts))
    return numbers[0], numbers[1], numbers[2]


def _version_text(version: tuple[int, int, int]) -> str:
    return ".".join(str(n) for n in version)


class ModuleManager:
    """src/module/manager.cpp: load libraries, look up and verify each module's record."""

    def __init__(self, mesos_version: str):
        self.mesos_version = mesos_version
        self.libraries: dict[str, ctypes.CDLL] = {}
        self.modules: dict[str, LoadedModule] = {}

    def load_dir(self, directory: str):
        """ModuleManager::load(modulesDir) (Mesos 1.1+): every manifest in name order."""
        try:
            names = sorted(os.listdir(directory))
        except OSError as exc:
            raise Exit(
                f"Error loading modules: Error loading module manifests from '{directory}' directory: "
                f"Failed to opendir '{directory}': {exc.strerror}"
            ) from None
        for name in names:
            path = os.path.join(directory, name)
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as exc:
                raise Exit(
                    f"Error loading modules: Error reading module manifest file '{path}': {exc.strerror}"
                ) from None
            try:
                manifest = parse_modules(text)
            except ValueError as exc:
                raise Exit(f"Error loading modules: Error parsing module manifest file '{path}': {exc}") from None
            try:
                self.load(manifest)
            except Exit as exc:
                inner = exc.message.removeprefix("Error loading modules: ")
                raise Exit(f"Error loading modules: Error loading modules from '{path}': {inner}") from None

    def load(self, manifest: dict):
        for library in manifest.get("libraries", []):
            if "file" in library:
                path = library["file"]
            elif "name" in library:
                path = f"lib{library['name']}.so"  # os::libraries::expandName
            else:
                raise Exit("Error loading modules: Library name or path not provided")
            if path not in self.libraries:
                try:
                    # ctypes opens with RTLD_NOW, as DynamicLibrary::open does.
                    self.libraries[path] = ctypes.CDLL(path)
                except OSError as exc:
                    raise Exit(
                        f"Error loading modules: Error opening library: '{path}': "
                        f"Could not load library '{path}': {exc}"
                    ) from None
            for module in library.get("modules", []):
                name = module.get("name")
                if not name:
                    raise Exit(f"Error loading modules: Error: module name not provided with library '{path}'")
                if name in self.modules:
                    raise Exit(f"Error loading modules: Error loading duplicate module '{name}'")
                try:
                    record = ModuleBase.in_dll(self.libraries[path], name)
                except ValueError as exc:
                    raise Exit(
                        f"Error loading modules: Error loading module '{name}': "
                        f"Error looking up symbol '{name}' in '{path}' : {exc}"
                    ) from None
                loaded = self.verify(name, path, record)
                loaded.parameters = {p["key"]: p["value"] for p in module.get("parameters", [])}
                self.modules[name] = loaded

    def verify(self, name: str, path: str, record: ModuleBase) -> LoadedModule:
        """ModuleManager::verifyModule."""

        def fail(text: str):
            raise Exit(f"Error loading modules: Error verifying module '{name}': {text}")

        fields = [
            record.mesosVersion,
            record.moduleApiVersion,
            record.authorName,
            record.authorEmail,
            record.description,
            record.kind,
        ]
        if any(f is None for f in fields):
            fail(f"Error loading module '{name}'; missing fields")
        api = record.moduleApiVersion.decode(errors="replace")
        if api != MODULE_API_VERSION:
            fail(f"Module API version mismatch. Mesos has: {MODULE_API_VERSION}, library requires: {api}")
        kind = record.kind.decode(errors="replace")
        if kind not in KINDS:
            fail(f"Unknown module kind: {kind}")
        mesos = parse_version(self.mesos_version)
        module_text = record.mesosVersion.decode(errors="replace")
        try:
            module_version = parse_version(module_text)
        except ValueError as exc:
            fail(str(exc))
        if module_version < mesos:
            # kindToVersion: every kind's minimum is the running MESOS_VERSION in 1.0.x.
            fail(
                f"Minimum supported mesos version for '{kind}' is {_version_text(mesos)}, "
                f"but module is compiled with version {_version_text(module_version)}"
            )
        if module_version != mesos and not record.compatible:
            fail(
                f"Mesos has version {_version_text(mesos)}, "
                f"but module is compiled with version {_version_text(module_version)}"
            )
        if module_version > mesos:
            fail(
                f"Mesos has version {_version_text(mesos)}, "
                f"but module is compiled with version {_version_text(module_version)}"
            )
        return LoadedModule(
            name=name,
            library=path,
            kind=kind,
            mesos_version=module_text,
            description=record.description.decode(errors="replace"),
            has_create=bool(record.create),
            parameters={},
        )

    def create(self, name: str, kind: str) -> LoadedModule:
        """ModuleManager::create<T>: known, has create(), of the requested kind."""
        module = self.modules.get(name)
        if module is None:
            raise ValueError(f"Module '{name}' unknown")
        if not module.has_create:
            raise ValueError(f"Error creating module instance for '{name}': create() method not found")
        if module.kind != kind:
            raise ValueError(
                f"Error creating module instance for '{name}': module is of kind '{module.kind}', "
                f"but the requested kind is '{kind}'"
            )
        return module


# --- ZooKeeper ----------------------------------------------------------------------------
@dataclass
class ZkUrl:
    servers: str
    path: str
    auth: tuple[str, str] | None = None


def parse_zk_url(url: str) -> ZkUrl:
    """zookeeper::URL::parse (src/zookeeper/url.cpp)."""
    if not url.startswith("zk://"):
        raise ValueError("Expecting 'zk://' at the beginning of the URL")
    rest = url[5:]
    auth = None
    if "@" in rest.split("/", 1)[0]:
        credentials, rest = rest.split("@", 1)
        user, _, password = credentials.partition(":")
        auth = (user, password)
    servers, slash, path = rest.partition("/")
    if not servers:
        raise ValueError("Expecting host:port after 'zk://'")
    return ZkUrl(servers, "/" + path if slash else "/", auth)


def _duration(text: str) -> float:
    """stout Duration::parse: a number and a unit (ns, us, ms, secs, mins, hrs, days, weeks)."""
    match = re.fullmatch(r"([0-9.]+)(ns|us|ms|secs|mins|hrs|days|weeks)", text.strip())
    if not match:
        raise ValueError(f"Invalid duration '{text}'")
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "secs": 1, "mins": 60, "hrs": 3600, "days": 86400, "weeks": 604800}
    return float(match.group(1)) * scale[match.group(2)]


def _zk_client(url: ZkUrl, timeout: float):
    from kazoo.client import KazooClient  # only masters started with --zk need kazoo

    auth = [("digest", f"{url.auth[0]}:{url.auth[1]}")] if url.auth else None
    return KazooClient(hosts=url.servers, timeout=timeout, auth_data=auth, connection_retry={"max_tries": -1})


# --- the master process -------------------------------------------------------------------
def log(level: str, message: str):
    """glog's line format, as mesos-master writes to stderr without --log_dir."""
    now = time.time()
    stamp = time.strftime("%m%d %H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1e6):06d}"
    print(f"{level}{stamp} {os.getpid():>5} standin.py] {message}", file=sys.stderr, flush=True)


class StandinApp(MasterApp):
    """The simulated master API, with this process' real flags in /master/flags and state."""

    def __init__(self, cluster, index: int, flags: dict[str, str]):
        super().__init__(cluster, index)
        self._flags = flags

    def flags(self) -> dict:
        shown = {k: v for k, v in self._flags.items() if k not in ("help", "version")}
        shown["hostname"] = self.me.hostname
        shown["port"] = str(self.me.port)
        return dict(sorted(shown.items()))


class Standin:
    def __init__(self, flags: dict[str, str], environ: dict[str, str]):
        self.flags = flags
        self.version = environ.get("MESOS_SIM_VERSION", "1.0.1")
        self.agents = int(environ.get("MESOS_SIM_AGENTS", "3"))
        self.cluster: Cluster | None = None
        self.zk = None
        self.zk_url: ZkUrl | None = None
        self.my_node: str | None = None
        self.quorum = 1
        self.filters_zk = None  # (client, znode) of the later build's persistence
        self.writers: list[threading.Thread] = []  # pending persistence writes, flushed at exit
        self.no_quorum_since: float | None = None
        self.stopping = threading.Event()
        self.exit_status: int | None = None
        self.exit_message: str | None = None

    # --- start-up checks, in mesos-master's order (src/master/main.cpp) ------------------
    def check(self) -> tuple[str | None, LoadedModule | None]:
        flags = self.flags
        # stout parses --modules as it loads the flags, before main.cpp looks at any of them.
        manifest = self.modules_manifest() if flags.get("modules") is not None else None
        if flags.get("ip_discovery_command") and flags.get("ip"):
            raise Exit(usage("Only one of `--ip` or `--ip_discovery_command` should be specified"))
        if flags.get("zk") and (flags.get("master_contender") or flags.get("master_detector")):
            raise Exit(usage("Only one of --zk or the --master_contender/--master_detector pair should be specified."))
        manager = ModuleManager(self.version)
        if flags.get("modules") is not None and flags.get("modules_dir") is not None:
            raise Exit(usage("Only one of --modules or --modules_dir should be specified"))
        if flags.get("modules_dir") is not None:
            manager.load_dir(flags["modules_dir"])
        if manifest is not None:
            manager.load(manifest)
        name = flags.get("allocator", DEFAULT_ALLOCATOR)
        selected = None
        if name != DEFAULT_ALLOCATOR:
            try:
                selected = manager.create(name, "Allocator")
            except ValueError as exc:
                raise Exit(f"Failed to create '{name}' allocator: {exc}") from None
        build = None
        if selected is not None and name == ALLOCATOR_MODULE:
            build = self.module_build(selected)
        registry = flags.get("registry", "replicated_log")
        if registry in ("replicated_log", "log_storage"):
            work_dir = flags.get("work_dir")
            if not work_dir:
                raise Exit("--work_dir needed for replicated log based registry")
            try:
                os.makedirs(work_dir, exist_ok=True)
            except OSError as exc:
                raise Exit(f"Failed to create work directory '{work_dir}': {exc.strerror}") from None
            if flags.get("zk"):
                if not flags.get("quorum"):
                    raise Exit("Need to specify --quorum for replicated log based registry when using ZooKeeper")
        elif registry != "in_memory":
            raise Exit(f"'{registry}' is not a supported option for registry persistence")
        if flags.get("zk"):
            try:
                self.zk_url = parse_zk_url(fetch(flags["zk"]).strip())
            except ValueError as exc:
                raise Exit(f"Failed to create a master contender: {exc}") from None
            self.quorum = int(flags.get("quorum") or 1)
        return build, selected

    def modules_manifest(self) -> dict:
        value = self.flags["modules"]
        try:
            return parse_modules(fetch(value))
        except ValueError as exc:
            raise bad_value("modules", value, str(exc)) from None

    @staticmethod
    def module_build(module: LoadedModule) -> str:
        """Which build of the Offer Filtering Allocator the library is: its release name
        (`libofferfilterallocator-<mesos>-<build>.so`) or its description names 0afdd8b,
        the first build; anything else behaves as the later builds."""
        if "0afdd8b" in os.path.basename(module.library) or "0afdd8b" in module.description:
            return "0afdd8b"
        return "later"

    # --- serving ---------------------------------------------------------------------------
    def advertised_ip(self, hostname: str) -> str:
        for candidate in (self.flags.get("advertise_ip"), self.flags.get("ip")):
            if candidate and candidate != "0.0.0.0":
                return candidate
        try:
            return socket.gethostbyname(hostname)
        except OSError:
            return "127.0.0.1"

    def start(self, build: str | None, module: LoadedModule | None):
        flags = self.flags
        hostname = flags.get("hostname") or socket.getfqdn() or socket.gethostname()
        port = int(flags["port"])
        cluster = Cluster(masters=1, agents=0, build=build, version=self.version, ports=[port], hostname=hostname)
        cluster.bind_host = flags.get("ip") or "0.0.0.0"
        cluster.state.cluster_name = flags.get("cluster") or "mesos-sim"
        self._configure_auth(cluster)
        me = cluster.state.masters[0]
        me.ip = self.advertised_ip(hostname)
        seed = flags.get("zk") or f"standalone-{hostname}"
        cluster.state._agent_id_prefix = str(uuid.uuid5(uuid.NAMESPACE_URL, seed))
        for _ in range(self.agents):
            cluster.state.add_agent()
        cluster.apps[0] = StandinApp(cluster, 0, flags)
        cluster.kill_master = self._crash
        if build == "later" and module is not None and "zk_url" in module.parameters:
            self._setup_persistence(cluster, module.parameters["zk_url"])
        self.cluster = cluster
        try:
            cluster.start(elect=False)
        except OSError as exc:
            raise Exit(f"Failed to initialize: Failed to bind on {cluster.bind_host}:{port}: {exc.strerror}") from None
        log("I", f"Master {me.id} ({hostname}) started on {me.ip}:{me.port}")
        log("I", f"Using '{flags.get('allocator', DEFAULT_ALLOCATOR)}' allocator")
        if self.zk_url is None:
            with cluster.state.lock:
                cluster.state.elect(index=0)
            log("I", "Elected as the leading master! (standalone)")
        else:
            threading.Thread(target=self._contend, daemon=True).start()

    def _configure_auth(self, cluster: Cluster):
        flags = self.flags
        cluster.readonly_auth = flags.get("authenticate_http_readonly") == "true"
        if flags.get("credentials"):
            try:
                doc = json.loads(fetch(flags["credentials"]))
                cluster.credentials = {c["principal"]: c["secret"] for c in doc.get("credentials", [])}
            except (ValueError, KeyError, TypeError) as exc:
                raise Exit(f"Failed to load flag 'credentials': {exc}") from None

    def _crash(self, index: int = 0):
        """A request made the master process abort (the module throwing inside the master)."""
        self.finish(134, "*** Aborted at the allocator: uncaught exception in the master's event loop")

    def finish(self, status: int, message: str | None = None):
        if self.exit_status is None:
            self.exit_status = status
            self.exit_message = message
        self.stopping.set()

    # --- ZooKeeper contention and detection (src/master/contender, detector) --------------
    def _contend(self):
        from kazoo.protocol.states import KazooState

        url = self.zk_url
        timeout = _duration(self.flags.get("zk_session_timeout", "10secs"))
        client = _zk_client(url, timeout)
        self.zk = client

        def listener(state):
            if state == KazooState.LOST and not self.stopping.is_set():
                if self.cluster.state.leader == 0:
                    self.finish(1, "Lost leadership... committing suicide!")
                else:
                    log("I", "Lost candidacy as a follower... Contending again")
                    threading.Thread(target=self._register, daemon=True).start()

        while not self.stopping.is_set():
            try:
                client.start(timeout=timeout)
                break
            except Exception as exc:  # kazoo raises its own timeout types
                log("W", f"Failed to connect to ZooKeeper {url.servers}: {exc}; retrying")
        if self.stopping.is_set():
            return
        client.add_listener(listener)
        self._register()
        client.ChildrenWatch(url.path, self._on_children)
        threading.Thread(target=self._quorum_watchdog, daemon=True).start()

    def _register(self):
        try:
            self._create_node()
        except Exception as exc:  # the session went away meanwhile: the listener sees it again
            if not self.stopping.is_set():
                log("W", f"Failed to contend: {exc!r}")

    def _create_node(self):
        me = self.cluster.state.masters[0]
        info = {
            "address": {"hostname": me.hostname, "ip": me.ip, "port": me.port},
            "hostname": me.hostname,
            "id": me.id,
            "ip": int.from_bytes(socket.inet_aton(me.ip), "little"),
            "pid": me.pid,
            "port": me.port,
            "version": self.version,
        }
        path = self.zk.create(
            self.zk_url.path.rstrip("/") + "/json.info_",
            json.dumps(info).encode(),
            ephemeral=True,
            sequence=True,
            makepath=True,
        )
        self.my_node = path.rsplit("/", 1)[1]
        log("I", f"Contending for leadership as {path}")

    def _on_children(self, children):
        contenders = sorted((c for c in children if c.startswith(("json.info_", "info_"))), key=lambda c: c[-10:])
        state = self.cluster.state
        was_leader = state.leader == 0
        if was_leader and self.my_node not in contenders:
            self.finish(1, "Lost leadership... committing suicide!")
            return False
        leader_node = contenders[0] if contenders and len(contenders) >= self.quorum else None
        with state.lock:
            if leader_node is None:
                if state.leader is not None and not was_leader:
                    log("I", "No leading master detected (no quorum of contenders)")
                    state.leader = None
                self.no_quorum_since = self.no_quorum_since or time.time()
                return None
            self.no_quorum_since = None
            if leader_node == self.my_node:
                if not was_leader:
                    self._restore_filters()
                    state.elect(index=0)
                    log("I", "Elected as the leading master!")
                return None
            info = self._read_info(leader_node)
            if info is None:
                return None
            index = self._remote_master(info)
            if state.leader != index:
                state.leader = index
                state.allocator = type(state.allocator)()
                log("I", f"The newly elected leader is {state.masters[index].pid} with id {info.get('id')}")
        return None

    def _read_info(self, node: str) -> dict | None:
        try:
            data, _ = self.zk.get(self.zk_url.path.rstrip("/") + "/" + node)
            return json.loads(data)
        except Exception:  # the node went away, or it is not JSON: wait for the next change
            return None

    def _remote_master(self, info: dict) -> int:
        state = self.cluster.state
        for master in state.masters[1:]:
            if master.id == info.get("id"):
                return master.index
        address = info.get("address") or {}
        master = MasterInfo(
            index=len(state.masters),
            id=info.get("id", ""),
            hostname=info.get("hostname") or address.get("hostname") or address.get("ip", ""),
            port=int(info.get("port") or address.get("port") or 5050),
            ip=address.get("ip") or info.get("pid", "@127.0.0.1:").split("@")[-1].split(":")[0],
            alive=True,
        )
        state.masters.append(master)
        return master.index

    def _quorum_watchdog(self):
        """A leader that cannot recover the registry within --registry_fetch_timeout aborts."""
        limit = _duration(self.flags.get("registry_fetch_timeout", "1mins"))
        while not self.stopping.wait(1.0):
            since = self.no_quorum_since
            if since is not None and self.my_node is not None and time.time() - since > limit:
                contenders = self.zk.get_children(self.zk_url.path)
                mine = sorted(contenders, key=lambda c: c[-10:])[:1] == [self.my_node]
                if mine:
                    self.finish(
                        1,
                        "Recovery failed: Failed to recover registrar: "
                        f"Failed to perform fetch within {self.flags.get('registry_fetch_timeout', '1mins')}",
                    )

    # --- the later build's filters in ZooKeeper ------------------------------------------
    def _setup_persistence(self, cluster: Cluster, zk_url: str):
        try:
            url = parse_zk_url(zk_url)
        except ValueError as exc:
            # create(): Try::get() on the error aborts the master at start-up.
            raise Exit(f"Failed to create '{ALLOCATOR_MODULE}' allocator: zk_url '{zk_url}': {exc}") from None
        cluster.state.persist = True
        client = _zk_client(url, 10.0)
        znode = url.path.rstrip("/") + "/filtered-agents"
        self.filters_zk = (client, znode)
        original = cluster.state.store_filters

        def store_filters():
            original()
            snapshot = cluster.state.persisted_filters
            writer = threading.Thread(target=self._write_filters, args=(snapshot,), daemon=True)
            self.writers.append(writer)
            writer.start()

        cluster.state.store_filters = store_filters

    def _zk_filters_client(self):
        client, znode = self.filters_zk
        if not client.connected:
            client.start(timeout=10)
        return client, znode

    def _write_filters(self, filters):
        try:
            client, znode = self._zk_filters_client()
            data = json.dumps({"filters": filters or []}, sort_keys=True, separators=(",", ":")).encode()
            client.retry(client.ensure_path, znode)
            client.retry(client.set, znode, data)
        except Exception as exc:  # persistence is fire-and-forget in the module too
            log("W", f"Failed to persist filtered agents: {exc!r}")

    def _restore_filters(self):
        if self.filters_zk is None:
            return
        try:
            client, znode = self._zk_filters_client()
            if client.retry(client.exists, znode):
                data, _ = client.retry(client.get, znode)
                if data:
                    self.cluster.state.persisted_filters = json.loads(data).get("filters", [])
        except Exception as exc:
            log("W", f"Failed to fetch filtered agents: {exc!r}")

    def stop(self):
        for writer in self.writers:  # before leaving the election: the next leader reads them
            writer.join(5)
        if self.zk is not None:
            try:
                self.zk.stop()
                self.zk.close()
            except Exception:
                pass
        if self.filters_zk is not None:
            try:
                self.filters_zk[0].stop()
            except Exception:
                pass
        if self.cluster is not None:
            self.cluster.stop()


def main(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    environ = dict(os.environ) if environ is None else environ
    try:
        flags = load_flags(argv, environ)
    except Exit as exc:
        print(exc.message, file=sys.stderr, flush=True)
        return exc.status
    if flags.get("help") == "true":
        print(usage())
        return 0
    if flags.get("version") == "true":
        print(f"mesos {environ.get('MESOS_SIM_VERSION', '1.0.1')}")
        return 0
    standin = Standin(flags, environ)
    # Before start(): the master answers HTTP from its threads as soon as it has started, and a service manager
    # may stop it at once; a SIGTERM in between must still end it cleanly.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: standin.finish(0))
    try:
        build, module = standin.check()
        standin.start(build, module)
    except Exit as exc:
        print(exc.message, file=sys.stderr, flush=True)
        standin.stop()
        return exc.status
    standin.stopping.wait()
    if standin.exit_message:
        print(standin.exit_message, file=sys.stderr, flush=True)
    standin.stop()
    return standin.exit_status or 0


if __name__ == "__main__":
    sys.exit(main())
