"""IPython extension: ``%load_ext jpu``, then ``%%energy`` on a cell.

``%%energy`` runs the cell, then prints one line with the energy the kernel's process tree used
while it ran, the average power and the CO2-equivalent, with where the carbon intensity came
from. The cell's own output comes first; the magic returns nothing (the cell's last value is
displayed as usual). Carbon settings: ``--country FR``, ``--provider``, ``--intensity``,
``--pue``, else the environment (JPU_COUNTRY, JPU_CARBON_PROVIDER, JPU_CARBON_INTENSITY, JPU_PUE,
JPU_EMAPS_TOKEN); in a kernel of a Jupyter server with jupyter-power-usage, the server's
settings, so the cell and the top bar agree (see jpu.measure).
"""

from __future__ import annotations

import sys
from typing import Any

from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .measure import measure


@magics_class
class EnergyMagics(Magics):
    """The %%energy cell magic; the last measurement is kept as ``self.last``."""

    last: Any = None

    @magic_arguments()
    @argument("--country", "-c", default=None, help="ISO 3166-1 alpha-2 code (FR, GB, DE...)")
    @argument(
        "--provider",
        "-p",
        default=None,
        help="carbon intensity provider: auto, rte, gb, emaps, table, constant or a chain",
    )
    @argument("--intensity", type=float, default=None, help="constant intensity, gCO2/kWh")
    @argument("--pue", type=float, default=None, help="power usage effectiveness (>= 1)")
    @argument("--interval", type=float, default=0.1, help="sampling interval, s (default 0.1)")
    @cell_magic
    def energy(self, line: str, cell: str) -> None:
        """Run the cell and print its energy, average power and CO2 on one line."""
        args = parse_argstring(self.energy, line)
        try:
            meter = measure(
                interval=args.interval,
                country=args.country,
                provider=args.provider,
                intensity=args.intensity,
                pue=args.pue,
            ).start()
        except (OSError, ValueError) as exc:
            # Settings or sensors that do not work: say so, and still run the cell.
            print(f"%%energy: cannot measure: {exc}", file=sys.stderr)
            self.shell.run_cell(cell, store_history=False)
            return
        if meter.fallback:
            print(f"%%energy: {meter.fallback}", file=sys.stderr)
        try:
            self.shell.run_cell(cell, store_history=False)
        finally:
            meter.stop()
            self.last = meter
            # Output of the cell is flushed first so the summary comes after it.
            sys.stdout.flush()
            print(meter.summary())


def load_ipython_extension(ip: Any) -> None:
    """Register %%energy (``%load_ext jpu``)."""
    ip.register_magics(EnergyMagics)
