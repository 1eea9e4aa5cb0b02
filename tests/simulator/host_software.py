"""Installed products and Windows features of a simulated host.

Products live where Windows keeps them: one key per product under HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall
(WOW6432Node for 32-bit ones), with the values Windows Installer writes (DisplayName, DisplayVersion, Publisher, InstallDate
yyyymmdd, InstallLocation, UninstallString, WindowsInstaller=1, VersionMajor/Minor, EstimatedSize). Windows Installer's
UninstallString reconfigures the product, "MsiExec.exe /I{code}", unless the package sets ARPNOMODIFY: then it removes it,
"MsiExec.exe /X{code}", and NoModify=1 is written (MicrosoftDocs/win32 desktop-src/Msi/arpnomodify.md; real inventories show
both forms). A silent /I run of an installed product is a maintenance run that removes nothing.
The registry is the single source of truth, so a twin reading those keys and one calling products() agree.

Features follow winfeatures.py; a change that needs a restart stays pending (InstallPending / UninstallPending) and sets the
Component Based Servicing RebootPending key until the host reboots.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from simulator import winfeatures
from simulator.hoststate import Feature, FeatureChange, FeatureResult, Product
from simulator.winerror import CBS_E_SOURCE_MISSING, ERROR_INVALID_PARAMETER, ERROR_UNKNOWN_PRODUCT, WinError, message

if TYPE_CHECKING:
    from simulator.host import Host

UNINSTALL = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"
UNINSTALL_WOW = r"HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall"


def _uninstall_root(arch: str) -> str:
    return UNINSTALL_WOW if arch == "x86" else UNINSTALL


def _version_parts(version: str) -> tuple[int, int]:
    bits = [int(b) if b.isdigit() else 0 for b in str(version).split(".")] + [0, 0]
    return bits[0], bits[1]


class SoftwareMixin:
    """Products and features of Host."""

    # -- products --------------------------------------------------------------------------------------------------------
    def products(self: Host) -> dict[str, Product]:
        """Installed products keyed by product code (Uninstall key name), both registry views."""
        out: dict[str, Product] = {}
        with self.lock:
            for root, arch in ((UNINSTALL, "x64"), (UNINSTALL_WOW, "x86")):
                info = self.reg_get_key(root)
                for code in info.subkeys if info else ():
                    product = self._product_from_key(f"{root}\\{code}", code, arch)
                    if product is not None:
                        out[code] = product
        return out

    def product(self: Host, code: str) -> Product | None:
        return next((p for c, p in self.products().items() if c.casefold() == code.casefold()), None)

    def _product_from_key(self: Host, path: str, code: str, arch: str) -> Product | None:
        info = self.reg_get_key(path)
        if info is None or info.value("DisplayName") is None:
            return None  # Programs and Features lists only keys with a DisplayName

        def val(name: str, default: Any = "") -> Any:
            v = info.value(name)
            return v.data if v is not None else default

        return Product(
            code=code,
            name=val("DisplayName"),
            version=val("DisplayVersion"),
            publisher=val("Publisher"),
            install_location=val("InstallLocation"),
            install_date=val("InstallDate"),
            msi=val("WindowsInstaller", 0) == 1,
            arch=arch,
            uninstall_string=val("UninstallString"),
            quiet_uninstall_string=val("QuietUninstallString"),
            size_kb=val("EstimatedSize", 0),
            no_modify=val("NoModify", 0) == 1,
        )

    def install_product(self: Host, product: Product) -> bool:
        """Register a product the way its installer would; True if the registry changed."""
        path = f"{_uninstall_root(product.arch)}\\{product.code}"
        major, minor = _version_parts(product.version)
        verb = "/X" if product.no_modify else "/I"
        uninstall = product.uninstall_string or (f"MsiExec.exe {verb}{product.code}" if product.msi else "")
        values: dict[str, tuple[Any, str]] = {
            "DisplayName": (product.name, "REG_SZ"),
            "DisplayVersion": (product.version, "REG_SZ"),
            "Publisher": (product.publisher, "REG_SZ"),
            "InstallDate": (product.install_date or self.clock.now().strftime("%Y%m%d"), "REG_SZ"),
            "InstallLocation": (product.install_location, "REG_SZ"),
            "UninstallString": (uninstall, "REG_EXPAND_SZ"),
            "EstimatedSize": (product.size_kb, "REG_DWORD"),
        }
        if product.quiet_uninstall_string:
            values["QuietUninstallString"] = (product.quiet_uninstall_string, "REG_EXPAND_SZ")
        if product.msi:
            values |= {"WindowsInstaller": (1, "REG_DWORD"), "VersionMajor": (major, "REG_DWORD"), "VersionMinor": (minor, "REG_DWORD")}
        if product.msi and product.no_modify:
            values["NoModify"] = (1, "REG_DWORD")
        with self.lock, self.mutating():
            changed = self.reg_create_key(path)
            for name, (data, type_) in values.items():
                existing = self.reg_get_value(path, name)
                if name == "InstallDate" and existing is not None and not product.install_date:
                    continue  # a reinstall keeps the original date unless one is given
                changed = self.reg_set_value(path, name, data, type_) or changed
            return changed

    def remove_product(self: Host, code: str) -> None:
        """Remove a product's registration; 1605 if it is not installed."""
        with self.lock, self.mutating():
            for root in (UNINSTALL, UNINSTALL_WOW):
                info = self.reg_get_key(root)
                match = next((k for k in (info.subkeys if info else ()) if k.casefold() == code.casefold()), None)
                if match is not None:
                    self.reg_delete_key(f"{root}\\{match}", recurse=True)
                    return
        raise WinError(ERROR_UNKNOWN_PRODUCT)

    # -- features --------------------------------------------------------------------------------------------------------
    def _catalogue(self: Host) -> dict[str, winfeatures.FeatureDef]:
        return winfeatures.catalogue(self.os_build, self.server_core)

    def _feature_view(self: Host, d: winfeatures.FeatureDef) -> Feature:
        installed = {n.casefold() for n in self.state.features_installed}
        pending = {k.casefold(): v for k, v in self.state.features_pending.items()}
        key = d.name.casefold()
        if pending.get(key) == "install":
            state = "InstallPending"
        elif pending.get(key) == "remove":
            state = "UninstallPending"
        elif key in installed:
            state = "Installed"
        else:
            state = "Removed" if "s" in d.flags else "Available"
        return Feature(
            name=d.name,
            display_name=d.display_name,
            feature_type=d.feature_type,
            parent=d.parent,
            sub_features=list(d.sub_features),
            installed=state in ("Installed", "UninstallPending"),
            install_state=state,
            reboot_on_install="r" in d.flags,
            reboot_on_remove="R" in d.flags,
        )

    def features(self: Host) -> list[Feature]:
        with self.lock:
            return [self._feature_view(d) for d in self._catalogue().values()]

    def feature(self: Host, name: str) -> Feature | None:
        with self.lock:
            d = self._catalogue().get(name.casefold())
            return self._feature_view(d) if d else None

    def _defs(self: Host, names: Iterable[str]) -> list[winfeatures.FeatureDef]:
        cat = self._catalogue()
        out = []
        for name in names:
            d = cat.get(name.casefold())
            if d is None:
                raise WinError(
                    ERROR_INVALID_PARAMETER,
                    f"ArgumentNotValid: The role, role service, or feature name is not valid: '{name}'. The name was not found.",
                )
            out.append(d)
        return out

    def _install_closure(self: Host, defs: list[winfeatures.FeatureDef], sub: bool, mgmt: bool) -> list[winfeatures.FeatureDef]:
        cat = self._catalogue()
        chosen: dict[str, winfeatures.FeatureDef] = {}

        def add(d: winfeatures.FeatureDef, explicit: bool) -> None:
            if d.name.casefold() in chosen:
                return
            chosen[d.name.casefold()] = d
            if d.parent and d.parent.casefold() in cat:
                add(cat[d.parent.casefold()], False)
            for child in d.sub_features:
                c = cat[child.casefold()]
                if (sub and explicit) or "d" in c.flags:
                    add(c, sub and explicit)
            for req in d.requires:
                if req.casefold() in cat:
                    add(cat[req.casefold()], False)
            if mgmt:
                for tool in d.mgmt_tools:
                    if tool.casefold() in cat:
                        add(cat[tool.casefold()], True)

        for d in defs:
            add(d, True)
        return sorted(chosen.values(), key=lambda d: list(cat).index(d.name.casefold()))

    def install_features(
        self: Host,
        names: Iterable[str],
        include_sub_features: bool = False,
        include_management_tools: bool = False,
        source: str | None = None,
        what_if: bool = False,
    ) -> FeatureResult:
        """Install-WindowsFeature. Raises WinError(87) for an unknown name and CBS_E_SOURCE_MISSING when a removed payload
        (NET-Framework-Core) has no usable `source`. `what_if` reports the changes without making them (-WhatIf)."""
        if what_if:
            return self._what_if(lambda: self.install_features(names, include_sub_features, include_management_tools, source))
        with self.lock, self.mutating():
            todo = self._install_closure(self._defs(names), include_sub_features, include_management_tools)
            changes: list[FeatureChange] = []
            for d in todo:
                view = self._feature_view(d)
                if view.install_state in ("Installed", "InstallPending"):
                    continue
                if "s" in d.flags and not (source and self.is_dir(source)):
                    raise WinError(
                        CBS_E_SOURCE_MISSING,
                        f"Installation of one or more roles, role services, or features failed. {message(CBS_E_SOURCE_MISSING)} Error: 0x800f081f",
                    )
                changes.append(self._apply_install(d))
            return _result(changes)

    def _apply_install(self: Host, d: winfeatures.FeatureDef) -> FeatureChange:
        if d.name in self.state.features_pending and self.state.features_pending[d.name] == "remove":
            del self.state.features_pending[d.name]  # cancelling a pending removal needs no restart
            return FeatureChange(d.name, d.display_name, False)
        if "r" in d.flags:
            self.state.features_pending[d.name] = "install"
            self.set_pending_reboot("component_based_servicing")
            return FeatureChange(d.name, d.display_name, True)
        self._feature_installed(d)
        return FeatureChange(d.name, d.display_name, False)

    def _feature_installed(self: Host, d: winfeatures.FeatureDef) -> None:
        if d.name.casefold() not in {n.casefold() for n in self.state.features_installed}:
            self.state.features_installed.append(d.name)
        for spec in d.services:
            if spec["name"].casefold() not in self.state.services:
                self.create_service(**spec)

    def remove_features(self: Host, names: Iterable[str], include_management_tools: bool = False, what_if: bool = False) -> FeatureResult:
        """Uninstall-WindowsFeature: removes the features, their sub-features and installed features that require them."""
        if what_if:
            return self._what_if(lambda: self.remove_features(names, include_management_tools))
        with self.lock, self.mutating():
            cat = self._catalogue()
            remove: dict[str, winfeatures.FeatureDef] = {}

            def add(d: winfeatures.FeatureDef) -> None:
                if d.name.casefold() in remove:
                    return
                remove[d.name.casefold()] = d
                for child in d.sub_features:
                    add(cat[child.casefold()])
                for other in cat.values():
                    if d.name in other.requires:
                        add(other)
                if include_management_tools:
                    for tool in d.mgmt_tools:
                        if tool.casefold() in cat:
                            add(cat[tool.casefold()])

            for d in self._defs(names):
                add(d)
            changes = [self._apply_remove(d) for d in remove.values() if self._feature_view(d).install_state == "Installed"]
            return _result(changes)

    def _apply_remove(self: Host, d: winfeatures.FeatureDef) -> FeatureChange:
        if "R" in d.flags:
            self.state.features_pending[d.name] = "remove"
            self.set_pending_reboot("component_based_servicing")
            return FeatureChange(d.name, d.display_name, True)
        self._feature_removed(d)
        return FeatureChange(d.name, d.display_name, False)

    def _feature_removed(self: Host, d: winfeatures.FeatureDef) -> None:
        self.state.features_installed = [n for n in self.state.features_installed if n.casefold() != d.name.casefold()]
        still = {s["name"].casefold() for f in self._catalogue().values() if f.name in self.state.features_installed for s in f.services}
        for spec in d.services:
            if spec["name"].casefold() not in still and spec["name"].casefold() in self.state.services:
                self.delete_service(spec["name"])

    def _what_if(self: Host, change: Any) -> FeatureResult:
        """Run a feature change on a copy of the state and put the original back (nothing is saved meanwhile)."""
        import copy

        with self.lock:
            saved_state, saved_autosave, saved_dirty = copy.deepcopy(self.state), self.autosave, self._dirty
            self.autosave = False
            try:
                return change()
            finally:
                self.state, self.autosave, self._dirty = saved_state, saved_autosave, saved_dirty

    def _apply_pending_features(self: Host) -> None:
        """At boot: finish the changes that waited for the restart."""
        cat = self._catalogue()
        for name, action in list(self.state.features_pending.items()):
            d = cat.get(name.casefold())
            if d is not None:
                (self._feature_installed if action == "install" else self._feature_removed)(d)
        self.state.features_pending.clear()


def _result(changes: list[FeatureChange]) -> FeatureResult:
    reboot = any(c.reboot_required for c in changes)
    if not changes:
        return FeatureResult(True, "NoChangeNeeded", False, [])
    return FeatureResult(True, "SuccessRestartRequired" if reboot else "Success", reboot, changes)
