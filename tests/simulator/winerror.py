"""Win32 error codes and their system messages (FormatMessage text, as `[ComponentModel.Win32Exception]N` prints it).

Source: Microsoft "System Error Codes" (learn.microsoft.com/windows/win32/debug/system-error-codes).
"""

from __future__ import annotations

MESSAGES: dict[int, str] = {
    2: "The system cannot find the file specified.",
    3: "The system cannot find the path specified.",
    5: "Access is denied.",
    21: "The device is not ready.",
    32: "The process cannot access the file because it is being used by another process.",
    53: "The network path was not found.",
    67: "The network name cannot be found.",
    80: "The file exists.",
    87: "The parameter is incorrect.",
    112: "There is not enough space on the disk.",
    123: "The filename, directory name, or volume label syntax is incorrect.",
    145: "The directory is not empty.",
    183: "Cannot create a file when that file already exists.",
    193: "%1 is not a valid Win32 application.",
    267: "The directory name is invalid.",
    1051: "A stop control has been sent to a service that other running services are dependent on.",
    1053: "The service did not respond to the start or control request in a timely fashion.",
    1056: "An instance of the service is already running.",
    1058: "The service cannot be started, either because it is disabled or because it has no enabled devices associated with it.",
    1060: "The specified service does not exist as an installed service.",
    1062: "The service has not been started.",
    1068: "The dependency service or group failed to start.",
    1072: "The specified service has been marked for deletion.",
    1073: "The specified service already exists.",
    1115: "A system shutdown is in progress.",
    1190: "A system shutdown has already been scheduled.",
    1605: "This action is only valid for products that are currently installed.",
    1619: "This installation package could not be opened. Verify that the package exists and that you can access it, "
    "or contact the application vendor to verify that this is a valid Windows Installer package.",
    1638: "Another version of this product is already installed. Installation of this version cannot continue. "
    "To configure or remove the existing version of this product, use Add/Remove Programs on the Control Panel.",
    1641: "The requested operation completed successfully. The system will be restarted so the changes can take effect.",
    3010: "The requested operation is successful. Changes will not be effective until the system is rebooted.",
    # CBS_E_SOURCE_MISSING as a HRESULT: Install-WindowsFeature on a feature whose payload was removed (Features on Demand)
    0x800F081F: "The source files could not be found. Use the \"Source\" option to specify the location of the files that are required to "
    "restore the feature. For more information on specifying a source location, see https://go.microsoft.com/fwlink/?LinkId=243077.",
}

ERROR_FILE_NOT_FOUND = 2
ERROR_PATH_NOT_FOUND = 3
ERROR_ACCESS_DENIED = 5
ERROR_BAD_NETPATH = 53
ERROR_BAD_NET_NAME = 67
ERROR_FILE_EXISTS = 80
ERROR_INVALID_PARAMETER = 87
ERROR_DISK_FULL = 112
ERROR_INVALID_NAME = 123
ERROR_DIR_NOT_EMPTY = 145
ERROR_ALREADY_EXISTS = 183
ERROR_BAD_EXE_FORMAT = 193
ERROR_DIRECTORY = 267
ERROR_DEPENDENT_SERVICES_RUNNING = 1051
ERROR_SERVICE_REQUEST_TIMEOUT = 1053
ERROR_SERVICE_ALREADY_RUNNING = 1056
ERROR_SERVICE_DISABLED = 1058
ERROR_SERVICE_DOES_NOT_EXIST = 1060
ERROR_SERVICE_NOT_ACTIVE = 1062
ERROR_SERVICE_DEPENDENCY_FAIL = 1068
ERROR_SERVICE_EXISTS = 1073
ERROR_SHUTDOWN_IN_PROGRESS = 1115
ERROR_UNKNOWN_PRODUCT = 1605
ERROR_INSTALL_PACKAGE_OPEN_FAILED = 1619
ERROR_SUCCESS_REBOOT_INITIATED = 1641
ERROR_SUCCESS_REBOOT_REQUIRED = 3010
CBS_E_SOURCE_MISSING = 0x800F081F


def message(code: int) -> str:
    return MESSAGES.get(code, f"Unknown error ({code}).")


class WinError(OSError):
    """A Win32 failure: `code` is the Win32 error code, `message` the system text (plus context where Windows adds some)."""

    def __init__(self, code: int, msg: str | None = None, *, path: str | None = None) -> None:
        self.code = code
        self.message = msg if msg is not None else message(code)
        self.path = path
        super().__init__(code, self.message)

    @property
    def hresult(self) -> int:
        """The error as an HRESULT (HRESULT_FROM_WIN32), as PowerShell exceptions report it."""
        if self.code & 0x80000000:
            return self.code
        return 0x80070000 | (self.code & 0xFFFF)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"WinError({self.code}, {self.message!r})"
