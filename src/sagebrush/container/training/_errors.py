"""Failures as the sagemaker-training toolkit words them in ``/opt/ml/output/failure``.

A ``ClientError`` is the user's fault (bad script, bad requirements); its text is written
verbatim. Anything else is a "Framework Error" with a traceback.
"""

from __future__ import annotations


class ClientError(Exception):
    """A failure caused by the job's code or configuration, not by the platform."""


class CalledProcessError(ClientError):
    def __init__(self, cmd: str, return_code: int, output: str = "", info: str | None = None):
        super().__init__(cmd)
        self.cmd = cmd
        self.return_code = return_code
        self.output = output
        self.info = info

    def __str__(self) -> str:
        head = f'{type(self).__name__}:\nExitCode {self.return_code}\nErrorMessage "{self.output}"'
        extra = "" if self.info is None else f'\nExtraInfo "{self.info}"'
        return f'{head}{extra}\nCommand "{self.cmd}"'.strip()


class ExecuteUserScriptError(CalledProcessError):
    pass


class InstallRequirementsError(CalledProcessError):
    pass


class InstallModuleError(CalledProcessError):
    pass
