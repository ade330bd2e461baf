"""Resources of common AMD/Xilinx parts, for comparing a design's estimate against its target.

Rule: a part name (as given to `set_part`, e.g. `xcvu13p-flga2577-2-e`) is matched by its device
prefix (`xcvu13p`); package, speed grade and temperature do not change the fabric. Counts from the
families' data sheets (device feature tables):
- Virtex UltraScale+ (AMD DS923, "Virtex UltraScale+ FPGA Data Sheet: DC and AC Switching
  Characteristics" / product table of DS890 "UltraScale Architecture and Product Data Sheet: Overview"):
  VU9P 1,182,240 LUTs, 2,364,480 FFs, 6,840 DSP slices, 2,160 36Kb block RAMs; VU13P 1,728,000 LUTs,
  3,456,000 FFs, 12,288 DSP slices, 2,688 36Kb block RAMs;
- Kintex UltraScale (DS890): KU115 663,360 LUTs, 1,326,720 FFs, 5,520 DSP slices, 2,160 36Kb BRAMs;
- Zynq UltraScale+ MPSoC (DS891 "Zynq UltraScale+ MPSoC Data Sheet: Overview"): ZU9EG 274,080 LUTs,
  548,160 FFs, 2,520 DSP slices, 912 36Kb BRAMs; ZU7EV 230,400 LUTs, 460,800 FFs, 1,728 DSP slices,
  312 36Kb BRAMs;
- Zynq-7000 (DS190 "Zynq-7000 SoC Data Sheet: Overview"): Z-7020 53,200 LUTs, 106,400 FFs, 220 DSP
  slices, 140 36Kb BRAMs.
BRAM is given in 18Kb halves (two per 36Kb block), the unit of csynth reports (`BRAM_18K`).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PartResources:
    device: str
    lut: int
    ff: int
    dsp: int
    bram18: int
    source: str

    def as_dict(self) -> dict[str, int | str]:
        return {"device": self.device, "lut": self.lut, "ff": self.ff, "dsp": self.dsp, "bram18": self.bram18,
                "source": self.source}


PARTS = (
    PartResources("xcvu13p", 1_728_000, 3_456_000, 12_288, 2 * 2_688, "DS923/DS890"),
    PartResources("xcvu9p", 1_182_240, 2_364_480, 6_840, 2 * 2_160, "DS923/DS890"),
    PartResources("xcku115", 663_360, 1_326_720, 5_520, 2 * 2_160, "DS890"),
    PartResources("xczu9eg", 274_080, 548_160, 2_520, 2 * 912, "DS891"),
    PartResources("xczu7ev", 230_400, 460_800, 1_728, 2 * 312, "DS891"),
    PartResources("xc7z020", 53_200, 106_400, 220, 2 * 140, "DS190"),
)


def part_resources(part: str) -> PartResources | None:
    """The table entry of a part name (None when the device is not in the table)."""
    name = part.strip().lower()
    for entry in sorted(PARTS, key=lambda p: -len(p.device)):
        if name.startswith(entry.device):
            return entry
    return None


def over_budget(estimate: dict[str, int], part: str) -> list[str]:
    """One warning per resource whose estimate exceeds the part (`dsp`, `bram18` keys of estimate)."""
    entry = part_resources(part)
    if entry is None:
        return []
    warnings = []
    for key, label in (("dsp", "DSP slices"), ("bram18", "BRAM18"), ("lut", "LUTs"), ("ff", "FFs")):
        have = getattr(entry, key)
        need = estimate.get(key)
        if need is not None and need > have:
            warnings.append(f"estimated {need} {label} exceed the {have} of {entry.device} ({part}); raise the "
                            "reuse factor (config reuse_factor / layers), prune, or pick a larger part")
    return warnings
