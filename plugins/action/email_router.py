# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller half of exchange_dr.recovery.email_router: validate the options, render and check the setup configuration,
then call the Windows module once."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_issues import EmailAgentError
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_safe_xml import parse_xml
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_argspec import argument_spec
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._module_diffs import email_router_diff

MODULE = "exchange_dr.recovery.email_router"
CONFIG_NAME = "install_config"
MAX_CONFIG_BYTES = 1024 * 1024


def default_install_config(install_dir: str) -> str:
    """The setup configuration this collection assumes (the form of the other CRM setup programs' files; undocumented for the
    Email Router, hence a parameter)."""
    return f"<CRMSetup>\r\n  <EmailRouter>\r\n    <InstallDir>{escape(install_dir)}</InstallDir>\r\n  </EmailRouter>\r\n</CRMSetup>\r\n"


class ActionModule(ActionBase):
    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp

        validation = ArgumentSpecValidator(**argument_spec("email_router")).validate(dict(self._task.args))
        if validation.error_messages:
            return {**result, "failed": True, "msg": f"Invalid options for {MODULE}: " + "; ".join(validation.error_messages)}
        params = validation.validated_parameters
        if params["state"] != "absent" and not params["path"]:
            return {**result, "failed": True, "msg": f"{MODULE}: path is required with state={params['state']}"}

        module_args = {key: value for key, value in params.items() if value is not None}
        if params["state"] != "absent":
            content = params[CONFIG_NAME] if params[CONFIG_NAME] is not None else default_install_config(params["install_dir"])
            try:
                parse_xml(content.encode("utf-8"), CONFIG_NAME, MAX_CONFIG_BYTES)
            except EmailAgentError as error:
                return {**result, "failed": True, "msg": f"{MODULE}: {error}"}
            module_args[CONFIG_NAME] = content
        module_result = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
        result.update(module_result)
        if self._task.diff and not module_result.get("failed"):
            result["diff"] = email_router_diff(module_result, params["state"], bool(self._task.check_mode), params["service_account"])
        return result
