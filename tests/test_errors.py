"""UserError: a ValueError that names library parameters, spelled as flags by the CLI."""

import pytest

from semtool.cli._common import option_flag
from semtool.errors import UserError
from semtool.measure.wsi import wsi


def test_user_error_is_a_value_error_naming_the_parameter():
    import numpy as np

    with pytest.raises(ValueError, match=r"^quantile must lie in \(0, 1\)") as info:
        wsi(np.eye(3), quantile=1.5)
    assert info.value.parameter == "quantile"


def test_naming_spells_the_parameter_as_the_flag():
    assert UserError("quantile must lie in (0, 1)", parameter="quantile").naming("--quantile") == \
        "--quantile must lie in (0, 1)"
    err = UserError("b.h5: classes differ from a.h5's (lacks x); intersect=True compares the shared classes",
                    parameter="intersect")
    assert err.naming("--intersect").endswith("; --intersect compares the shared classes")
    assert UserError("kernel: unknown kernel 'k'", parameter="kernel").naming("--kernel") == \
        "--kernel: unknown kernel 'k'"  # only the leading name changes


def test_option_flag_reads_the_command_signature():
    from semtool.cli.rsm import rsm
    from semtool.cli.wsi import wsi as wsi_command

    assert option_flag(wsi_command, "quantile") == "--quantile"
    assert option_flag(rsm, "matcher") == "--matcher"
    assert option_flag(rsm, "no_such_parameter") is None
