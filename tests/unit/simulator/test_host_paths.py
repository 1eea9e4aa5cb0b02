"""Windows path and command-line rules (winpath.py)."""

from __future__ import annotations

import pytest

from simulator.winerror import WinError
from simulator.winpath import join_command_line, parse, quote_arg, split_command_line


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (r"C:\Temp\x.txt", r"C:\Temp\x.txt"),
        ("c:/temp/x.txt", r"C:\temp\x.txt"),
        (r"C:\\Temp\\\x", r"C:\Temp\x"),
        (r"C:\Temp\.", r"C:\Temp"),  # Ansible's temp paths end in \.
        (r"C:\Temp\sub\..\x", r"C:\Temp\x"),
        (r"C:\..\..\x", r"C:\x"),
        ("C:\\Temp\\name. ", r"C:\Temp\name"),  # trailing periods and spaces of the last segment go
        ("C:\\Temp\\dir.\\x", r"C:\Temp\dir\x"),  # a single trailing period goes from any segment
        ("C:\\Temp\\trail \\", "C:\\Temp\\trail "),  # a trailing separator keeps the space
        (r"\\?\C:\Temp\x", r"C:\Temp\x"),
        (r"\\?\UNC\FS01\Backups\x", r"\\FS01\Backups\x"),
        (r"\\.\C:\Temp", r"C:\Temp"),
        (r"\\FS01\Backups\EX01\..\x", r"\\FS01\Backups\x"),
        ("C:", "C:\\"),
        ("C:\\", "C:\\"),
    ],
)
def test_normalisation(given: str, expected: str) -> None:
    assert str(parse(given)) == expected


def test_comparison_is_case_insensitive_and_spelling_is_kept() -> None:
    a, b = parse(r"C:\Program Files\X"), parse(r"c:\PROGRAM FILES\x")
    assert a.key == b.key
    assert str(a) == r"C:\Program Files\X"
    assert a.is_relative_to(parse(r"c:\program files"))
    assert not a.is_relative_to(parse(r"D:\program files"))


def test_relative_paths_need_a_working_folder() -> None:
    assert str(parse(r"sub\x.txt", r"C:\Users\A")) == r"C:\Users\A\sub\x.txt"
    assert str(parse(r"\Windows", r"D:\Data")) == r"D:\Windows"
    assert str(parse("D:file", r"D:\Data")) == r"D:\Data\file"
    assert str(parse("E:file", r"D:\Data")) == r"E:\file"
    with pytest.raises(WinError) as e:
        parse(r"sub\x.txt")
    assert e.value.code == 3


@pytest.mark.parametrize("bad", [r"C:\a<b", r"C:\a|b", r'C:\a"b', "C:\\a?b", r"C:\a*b", r"C:\dir\file:stream", "", r"\\server"])
def test_invalid_names_are_error_123(bad: str) -> None:
    with pytest.raises(WinError) as e:
        parse(bad)
    assert e.value.code == 123
    assert e.value.message == "The filename, directory name, or volume label syntax is incorrect."


def test_verbatim_paths_are_not_normalised() -> None:
    assert parse(r"\\?\C:\a\..\b").parts == ("a", "..", "b")


@pytest.mark.parametrize(
    ("line", "argv"),
    [
        (r'"C:\Program Files\x.exe" /a "b c"', [r"C:\Program Files\x.exe", "/a", "b c"]),
        (r'setup.exe /TargetDir:"C:\Program Files\Exchange"', ["setup.exe", r"/TargetDir:C:\Program Files\Exchange"]),
        (r'x "a\"b" c\\d "e\\"', ["x", 'a"b', r"c\\d", "e\\"]),
        ('x "a""b"', ["x", 'a"b']),
        (r"C:\dir\x.exe a\b", [r"C:\dir\x.exe", r"a\b"]),
        ("  x   a  ", ["x", "a"]),
        ("", []),
    ],
)
def test_split_command_line(line: str, argv: list[str]) -> None:
    assert split_command_line(line) == argv


@pytest.mark.parametrize("arg", ["plain", "with space", 'quo"te', "trailing\\", "trail space\\", "", 'a\\"b'])
def test_quote_arg_round_trips(arg: str) -> None:
    assert split_command_line("x " + quote_arg(arg)) == ["x", arg]


def test_join_command_line_quotes_the_program() -> None:
    line = join_command_line([r"C:\Program Files\x.exe", "a b"])
    assert line == r'"C:\Program Files\x.exe" "a b"'
    assert split_command_line(line) == [r"C:\Program Files\x.exe", "a b"]
