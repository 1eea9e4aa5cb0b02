"""Twin registry and ModuleRun, the stand-in for what a PowerShell module sees on the host.

``run_module`` is the one entry point payload.py uses. It picks the twin, parses the arguments with the engine the real
module uses (Ansible.Basic or Legacy, see ``_validate``), runs the twin and formats the result exactly as that engine
(or module_wrapper.ps1 for an unhandled error) would print it.
"""

from __future__ import annotations

import functools
import importlib
import json
import pkgutil
import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from simulator.twins import _argspec, _validate
from simulator.twins._validate import CheckModeSkip, InternalError, ModuleFailure, UnhandledError

TwinFunc = Callable[["ModuleRun"], None]


@dataclass
class TwinInfo:
    fqcn: str
    func: TwinFunc
    options: dict[str, Any] = field(default_factory=dict)
    relations: dict[str, Any] = field(default_factory=dict)
    engine: str | None = None  # None: read from the .ps1
    supports_check_mode: bool | None = None  # None: read from the .ps1 (or the documentation's attributes)
    raw_extras: bool = False  # the .ps1 adds every unknown, non-underscore argument to its spec as type raw (setup)

    def spec_for(self, complex_args: dict[str, Any]) -> dict[str, Any]:
        if not self.raw_extras:
            return self.spec
        known = {name.lower() for name in self.spec["options"]}
        extra = {k: {"type": "raw"} for k in complex_args if not k.startswith("_") and k.lower() not in known}
        return {**self.spec, "options": {**self.spec["options"], **extra}} if extra else self.spec

    @functools.cached_property
    def spec(self) -> dict[str, Any]:
        spec = _argspec.build_spec(self.fqcn, self.options, **self.relations)
        if self.supports_check_mode is not None:
            spec["supports_check_mode"] = self.supports_check_mode
        return spec

    @property
    def engine_name(self) -> str:
        return self.engine or _argspec.ps1_facts(self.fqcn).engine


REGISTRY: dict[str, TwinInfo] = {}
_TWIN_PACKAGES = ("simulator.twins.ansible_windows", "simulator.twins.exchange_dr")


def twin(
    fqcn: str,
    *,
    options: dict[str, Any] | None = None,
    engine: str | None = None,
    supports_check_mode: bool | None = None,
    raw_extras: bool = False,
    **relations: Any,
) -> Callable[[TwinFunc], TwinFunc]:
    """Register ``func`` as the twin of module ``fqcn``.

    ``options`` overlays the documented options (internal options, or where the .ps1 differs from its documentation);
    ``relations`` are the .ps1 ``$spec``'s mutually_exclusive / required_if / required_one_of / required_together / required_by.
    """

    def register(func: TwinFunc) -> TwinFunc:
        REGISTRY[fqcn] = TwinInfo(fqcn, func, options or {}, relations, engine, supports_check_mode, raw_extras)
        return func

    return register


@functools.cache
def load_twins() -> dict[str, TwinInfo]:
    """Import every twin module once (they register themselves)."""
    for package_name in _TWIN_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{package_name}.{info.name}")
    return REGISTRY


def host_environment(host: Any, user: str) -> dict[str, str]:
    """The process environment a module sees on ``host`` when run as ``user``."""
    for method in ("env", "environment"):
        if callable(getattr(host, method, None)):
            return dict(getattr(host, method)(user))
    name = user.rsplit("\\", maxsplit=1)[-1]
    profile = f"C:\\Users\\{name}"
    return {
        "ALLUSERSPROFILE": "C:\\ProgramData",
        "APPDATA": f"{profile}\\AppData\\Roaming",
        "COMPUTERNAME": host.name.upper(),
        "ComSpec": "C:\\Windows\\system32\\cmd.exe",
        "LOCALAPPDATA": f"{profile}\\AppData\\Local",
        "NUMBER_OF_PROCESSORS": "2",
        "OS": "Windows_NT",
        "PATH": "C:\\Windows\\system32;C:\\Windows;C:\\Windows\\System32\\Wbem;C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\",
        "PATHEXT": ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC;.CPL",
        "PROCESSOR_ARCHITECTURE": "AMD64",
        "ProgramData": "C:\\ProgramData",
        "ProgramFiles": "C:\\Program Files",
        "ProgramFiles(x86)": "C:\\Program Files (x86)",
        "PUBLIC": "C:\\Users\\Public",
        "SystemDrive": "C:",
        "SystemRoot": "C:\\Windows",
        "TEMP": f"{profile}\\AppData\\Local\\Temp",
        "TMP": f"{profile}\\AppData\\Local\\Temp",
        "USERDOMAIN": user.split("\\", maxsplit=1)[0] if "\\" in user else host.name.upper(),
        "USERNAME": name,
        "USERPROFILE": profile,
        "windir": "C:\\Windows",
    }


class _Exit(Exception):
    def __init__(self, rc: int) -> None:
        super().__init__(rc)
        self.rc = rc


class ModuleRun:
    """What a twin works with: validated ``params``, the host, check/diff mode, ``result`` and the exit calls.

    Mirrors ``$module`` of Ansible.Basic (``Params``, ``CheckMode``, ``DiffMode``, ``Result``, ``Diff``, ``Tmpdir``,
    ``Warn``, ``Deprecate``, ``FailJson``, ``ExitJson``); for Legacy modules the same names map onto Parse-Args /
    Get-AnsibleParam / Exit-Json / Fail-Json and ``result`` is the module's ``$result`` hashtable.
    """

    def __init__(self, info: TwinInfo, host: Any, user: str) -> None:
        self.info = info
        self.fqcn = info.fqcn
        self.host = host
        self.user = user
        self.env = host_environment(host, user)
        self.engine = info.engine_name
        self.params: dict[str, Any] = {}
        self.raw_params: dict[str, Any] = {}
        self.result: dict[str, Any] = {"changed": False}
        self.diff: dict[str, Any] = {}
        self.check_mode = False
        self.diff_mode = False
        self.verbosity = 0
        self.debug = False
        self.no_log = False
        self.module_name = "undefined win module"
        self.keep_remote_files = False
        self._props: dict[str, Any] = {}
        self._basic: _validate.BasicEngine | None = None
        self._warnings: list[str] = []
        self._deprecations: list[dict[str, Any]] = []
        self._tmpdir: str | None = None
        self._cleanup: list[str] = []

    # ------------------------------------------------------------------------------------------------ twin API
    def fail_json(self, msg: str, exception: BaseException | str | None = None, **extra: Any) -> NoReturn:
        """FailJson (Basic) / Fail-Json (Legacy): ``extra`` keys go into the result first."""
        self.result.update(extra)
        self.result["failed"] = True
        if self._basic is not None:
            self.result["msg"] = self._basic.masked(msg)
            if "exception" not in self.result and exception is not None and (self.verbosity > 2 or self.debug):
                self.result["exception"] = str(exception)
        else:
            self.result["msg"] = msg
            self.result.setdefault("changed", False)
        raise _Exit(1)

    def exit_json(self, **extra: Any) -> NoReturn:
        self.result.update(extra)
        raise _Exit(0)

    def warn(self, msg: str) -> None:
        if self.engine == "legacy":  # Add-Warning puts it straight into $result
            self.result.setdefault("warnings", []).append(msg)
        else:
            self._warnings.append(msg)

    def deprecate(self, msg: str, version: str | None = None, date: str | None = None, collection_name: str | None = None) -> None:
        when = {"date": date} if date is not None else {"version": version}
        self._deprecations.append({"msg": msg, **when, "collection_name": collection_name})

    def expand_env(self, text: str) -> str:
        return _validate.expand_environment(text, self.env)

    @property
    def tmpdir(self) -> str:
        """Ansible.Basic ``Tmpdir``: ``_ansible_tmpdir`` if the controller made one, else a moduletmp dir removed at exit."""
        if self._tmpdir is None:
            given = self._props.get("tmpdir")
            if given:
                self._tmpdir = given
            else:
                self._tmpdir = self._make_module_tmpdir()
        return self._tmpdir

    # ------------------------------------------------------------------------------------------------ running
    def execute(self, complex_args: dict[str, Any]) -> tuple[int, str]:
        try:
            try:
                self._parse(complex_args)
                self.info.func(self)
                raise _Exit(0)
            except CheckModeSkip as skip:
                self.result = {"changed": False, "skipped": True, "msg": str(skip)}
                raise _Exit(0) from None
            except ModuleFailure as failure:
                self.fail_json(failure.msg)
        except _Exit as done:
            self._cleanup_files()
            return done.rc, self._formatted()
        except InternalError as e:
            return 1, self._json({"failed": True, "msg": f"internal error: {e}", "exception": f"System.ArgumentException: {e}"})
        except UnhandledError as e:
            return 1, self._unhandled(str(e))
        except Exception as e:  # a WinError from the host is a PowerShell exception the module did not catch
            if _is_win_error(e):
                return 1, self._unhandled(str(e))
            return 1, self._json(
                {
                    "failed": True,
                    "msg": f"simulator: the twin of {self.fqcn} raised {type(e).__name__}: {e}",
                    "exception": traceback.format_exc(),
                }
            )

    def _parse(self, complex_args: dict[str, Any]) -> None:
        if self.engine == "legacy":
            legacy = _validate.LegacyEngine(self.info.spec, self.env)
            try:
                legacy.run(complex_args)
            finally:
                self.raw_params = dict(legacy.raw)
                self.check_mode, self.diff_mode = legacy.check_mode, legacy.diff_mode
            self.params = legacy.params
            self._props = {"tmpdir": legacy.raw.get("_ansible_tmpdir"), "remote_tmp": legacy.raw.get("_ansible_remote_tmp")}
            return
        engine = _validate.BasicEngine(self.info.spec_for(complex_args), self.env, resolve_sid=self._resolve_sid)
        self._basic = engine
        try:
            engine.run(complex_args)
        finally:
            self._props = engine.props
            self.check_mode, self.diff_mode = engine.props["check_mode"], engine.props["diff_mode"]
            self.verbosity, self.debug = engine.props["verbosity"], engine.props["debug"]
            self.no_log, self.module_name = engine.props["no_log"], engine.props["module_name"]
            self.keep_remote_files = engine.props["keep_remote_files"]
            self._warnings, self._deprecations = engine.warnings, engine.deprecations
            self.params = dict(engine.params)
        self.raw_params = dict(complex_args)
        self.result["invocation"] = engine.invocation

    def _formatted(self) -> str:
        if self._basic is None:
            self.result.setdefault("changed", False)
            return self._json(self.result)
        if "invocation" not in self.result:
            self.result["invocation"] = {"module_args": self._basic.masked(dict(self._basic.params))}
        if self._warnings:
            self.result["warnings"] = self._warnings
        if self._deprecations:
            self.result["deprecations"] = self._deprecations
        if self.diff and self.diff_mode:
            self.result["diff"] = self.diff
        return self._json(self.result)

    def _unhandled(self, error: str) -> str:
        """module_wrapper.ps1's report of an exception the module did not handle."""
        return self._json({"failed": True, "msg": f"Unhandled exception while executing module: {error}", "exception": error})

    @staticmethod
    def _json(data: dict[str, Any]) -> str:
        return json.dumps(data, separators=(",", ":"), default=str)

    def _resolve_sid(self, name: str) -> str | None:
        lookup = getattr(self.host, "account_sid", None)
        return lookup(name) if lookup else None

    def _make_module_tmpdir(self) -> str:
        base = self.expand_env(self._props.get("remote_tmp") or "%TEMP%")
        if not self.host.exists(base):
            self.host.mkdir(base, parents=True)
            self.warn(
                f"Module remote_tmp {base} did not exist and was created with FullControl to {self.user}, this may cause issues when "
                "running as another user. To avoid this, create the remote_tmp dir with the correct permissions manually"
            )
        filetime = int(time.time() * 10_000_000) + 116_444_736_000_000_000
        path = self.host.mkdtemp(base, f"ansible-moduletmp-{filetime}-{random.randint(1000, 9999)}-")  # noqa: S311 - a name, not a secret
        if not self.keep_remote_files:
            self._cleanup.append(path)
        return path

    def _cleanup_files(self) -> None:
        for path in self._cleanup:
            try:
                if self.host.exists(path):
                    self.host.remove(path, recursive=True)
            except Exception as e:
                self.warn(f"Failure cleaning temp path '{path}': {type(e).__name__} {e}")
        self._cleanup = []


def _is_win_error(error: Exception) -> bool:
    return type(error).__name__ == "WinError" or hasattr(error, "winerror_code")


def run_module(fqcn: str, complex_args: dict[str, Any], host: Any, user: str) -> tuple[int, str]:
    """Run module ``fqcn`` on ``host`` as ``user``; returns (rc, stdout) as the module would print them."""
    info = load_twins().get(fqcn)
    if info is None:
        return 1, json.dumps({"changed": False, "failed": True, "msg": f"{fqcn} is not modelled by the simulator"})
    return ModuleRun(info, host, user).execute(complex_args)
