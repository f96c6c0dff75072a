"""Display texts as agents should have sent them."""

import pytest

from eyenet.collect.identity import display_text, label_text


@pytest.mark.parametrize("raw, want", [
    (b'"Cisco IOS Software [Dublin], Version 17.12.4\n"', "Cisco IOS Software [Dublin], Version 17.12.4"),
    (b'"SONiC Software Version: SONiC.4.4.1\nKernel: 5.10.0-21-amd64\n"', "SONiC Software Version: SONiC.4.4.1\nKernel: 5.10.0-21-amd64"),
    (b"RouterOS RB750Gr3", "RouterOS RB750Gr3"),
    (b'He said "hi"', 'He said "hi"'),  # a quote inside: not a wrapper
    (b'"a" and "b"', '"a" and "b"'),
    (b"padded\x00\x00garbage", "padded"),
    (b"", ""),
    (None, ""),
    (b'"', '"'),
])
def test_display_text(raw, want):
    assert display_text(raw) == want


def test_label_text_drops_blanks_and_nuls_keeping_an_aliass_indent():
    assert label_text(b"GigabitEthernet1/0/1   ") == "GigabitEthernet1/0/1"
    assert label_text(b"port 1\x00\x00") == "port 1"
    assert label_text(b" Link Aggregate 1") == "Link Aggregate 1"
    assert label_text(b'"transport VLAN 10\n"') == "transport VLAN 10"
    assert label_text(b'"quoted"', alias=True) == '"quoted"'
    assert label_text(b"  indented", alias=True) == "  indented"
