"""MAC vendor lookup against the IEEE registry netaddr ships."""

from __future__ import annotations

from medshield.inventory.oui import is_group_address, is_locally_administered, lookup_vendor


def test_registered_oui_names_its_vendor() -> None:
    found = lookup_vendor("00:09:fb:12:34:56")
    assert found is not None
    assert found.registry == "MA-L"
    assert found.prefix == "00-09-FB"
    assert "Philips" in found.vendor


def test_locally_administered_and_group_addresses_have_no_vendor() -> None:
    assert is_locally_administered("02:00:00:00:00:01")
    assert lookup_vendor("02:00:00:00:00:01") is None
    assert is_group_address("01:00:5e:00:00:fb")
    assert lookup_vendor("01:00:5e:00:00:fb") is None
    assert not is_group_address("00:09:fb:12:34:56")


def test_unregistered_prefix_is_none() -> None:
    # 0xFCFFFF is not assigned by the IEEE (universally administered, unicast).
    assert lookup_vendor("fc:ff:ff:00:00:01") is None


def test_names_and_prefixes_are_those_netaddr_gives() -> None:
    # netaddr reads the same IEEE files through its own parser: the reference.
    import netaddr

    for mac in ("00:09:fb:12:34:56", "00:1e:49:01:02:03", "f8:bc:12:aa:bb:cc", "ac:de:48:00:11:22"):
        oui = netaddr.EUI(mac).oui
        found = lookup_vendor(mac)
        assert found is not None
        assert (found.vendor, found.registry, found.prefix) == (
            oui.registration().org,
            "MA-L",
            str(oui),
        )


def test_iab_blocks_name_their_holder_and_fall_back_to_the_oui() -> None:
    import netaddr

    registered = "00:50:c2:00:10:01"
    iab = netaddr.EUI(registered).iab
    found = lookup_vendor(registered)
    assert found is not None
    assert (found.vendor, found.registry, found.prefix) == (
        iab.registration().org,
        "IAB",
        str(iab),
    )
    # Other address forms go through netaddr itself, with the same answer.
    assert lookup_vendor("00-50-C2-00-10-01") == found
