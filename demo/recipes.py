"""The demo's master recipes: human albumin, intravenous immunoglobulin and factor VIII, with the
critical process parameters of the guideline's Appendix A bound to the demo plant's tags (limits
from the tag's equipment) or entered by hand where the plant has no sensor, their in-process controls,
materials and yields. Synthetic: plausible for a plasma fractionation plant, not a real process.

`APPENDIX_A` names, per process step of Appendix A, the parameters a phase of that step must monitor;
`STEP` maps each demo phase to its step (tests/test_demo_recipes.py checks them against each other
and against the demo plant: AX-01).
"""

from __future__ import annotations

from typing import Any

Recipe = dict[str, Any]

APPENDIX_A: dict[str, tuple[str, ...]] = {
    "thawing and pooling": ("Plasma temperature", "Heating-medium temperature"),
    "fractionation": ("Reaction temperature", "Ethanol addition rate", "pH", "Stirring time", "Standing time"),
    "separation": ("Centrifuge speed", "Precipitate temperature"),
    "chromatography": ("Conductivity", "pH", "Load volume"),
    "ultrafiltration": ("Concentration factor",),
    "inactivation": ("Inactivation temperature", "Inactivation time"),
    "filling": ("Fill weight", "Sterilisation temperature", "Sterilisation time", "Settle-plate count",
                "Particles >=0.5 µm"),
    "visual inspection": ("Illuminance", "Incubation time"),
}


def _p(name: str, unit: str, low: float | None, high: float | None, tag: str | None = None,
       delay: float = 0) -> dict[str, Any]:
    return {"name": name, "unit": unit, "low": low, "high": high, "tag": tag, "alarmDelayS": delay}


def _c(name: str, method: str, unit: str, low: float | None, high: float | None) -> dict[str, Any]:
    return {"name": name, "method": method, "unit": unit, "low": low, "high": high}


def _m(code: str, name: str, quantity: float, unit: str, tolerance: float = 2,
       artwork: str | None = None) -> dict[str, Any]:
    return {"code": code, "name": name, "quantity": quantity, "unit": unit, "tolerancePct": tolerance,
            "artworkVersion": artwork}


# The controlled SOP each unit procedure is carried out under (code, title): demo/documents.py makes them
# effective and trains the demo's operators and supervisor on them before the recipes are drafted.
SOPS: dict[str, tuple[str, str]] = {
    "Plasma preparation": ("SOP-PR-001", "Thawing and pooling of plasma"),
    "Cold-ethanol fractionation": ("SOP-PR-002", "Cold-ethanol fractionation: precipitation and separation"),
    "Purification": ("SOP-PR-003", "Chromatography and ultrafiltration"),
    "Virus inactivation": ("SOP-PR-004", "Virus inactivation"),
    "Filling": ("SOP-PR-005", "Aseptic filling"),
    "Inspection": ("SOP-PR-006", "Incubation and visual inspection"),
}


def _phase(code: str, name: str, unit_procedure: str, operation: str, equipment_class: str, instructions: str,
           after: list[str], **more: Any) -> dict[str, Any]:
    return {"code": code, "name": name, "unitProcedure": unit_procedure, "operation": operation,
            "equipmentClass": equipment_class, "instructions": instructions, "after": after,
            "sop": SOPS[unit_procedure][0], **more}


def _thaw(after: list[str]) -> dict[str, Any]:
    return _phase("THAW", "Thaw and pool plasma", "Plasma preparation", "Thawing", "thawing_tank",
                  "Thaw the released units at 0-4 °C; keep the heating medium at 30-37 °C.", after,
                  parameters=[_p("Plasma temperature", "°C", 0, 4, "THP-TT-201", 60),
                              _p("Heating-medium temperature", "°C", 30, 37)],
                  controls=[_c("Total protein", "biuret", "g/L", 50, 70)],
                  output=2400, outputUnit="kg", yieldLowPct=95, yieldHighPct=100, balanceLowPct=98,
                  balanceHighPct=101)


def _fraction(code: str, name: str, loop: int, ph: tuple[float, float], temp: tuple[float, float],
              after: list[str], ethanol: float) -> dict[str, Any]:
    """A Cohn precipitation in the fractionation tank whose tags are FRC-TT-<loop>01 and FRC-AT-<loop>02."""
    return _phase(code, name, "Cold-ethanol fractionation", "Precipitation", "fractionation_tank",
                  f"Add ethanol at the set rate, hold at {temp[0]:g} to {temp[1]:g} °C, adjust pH, stir, stand.",
                  after, materials=[_m("ETH-96", "Ethanol 96 %", ethanol, "kg")],
                  parameters=[_p("Reaction temperature", "°C", *temp, f"FRC-TT-{loop}01", 120),
                              _p("pH", "pH", *ph, f"FRC-AT-{loop}02", 60),
                              _p("Ethanol addition rate", "L/min", 1, 3),
                              _p("Stirring time", "min", 30, 60), _p("Standing time", "h", 2, 6)],
                  controls=[_c("Ethanol concentration", "densitometry", "%", 7.5, 40)],
                  signatures=["PERFORMED", "VERIFIED"])


def _separate(code: str, after: list[str], output: float) -> dict[str, Any]:
    return _phase(code, "Separate the precipitate", "Cold-ethanol fractionation", "Separation", "centrifuge",
                  "Centrifuge; keep the effluent cold; collect the paste.", after,
                  parameters=[_p("Centrifuge speed", "rpm", 4500, 6500, "FRC-ST-701", 30),
                              _p("Precipitate temperature", "°C", -7, -3, "FRC-TT-702", 60)],
                  output=output, outputUnit="kg", yieldLowPct=85, yieldHighPct=105, balanceLowPct=95,
                  balanceHighPct=102)


def _chromatography(code: str, after: list[str]) -> dict[str, Any]:
    return _phase(code, "Ion-exchange chromatography", "Purification", "Chromatography", "chromatography_skid",
                  "Equilibrate, load, wash and elute; collect the main peak.", after,
                  parameters=[_p("Conductivity", "µS/cm", 8000, 16000, "CHR-CT-203", 30),
                              _p("pH", "pH", 6.8, 7.2, "CHR-AT-204", 30), _p("Load volume", "L", 300, 500),
                              _p("Column flow", "L/min", 5, 20, "CHR-FT-201", 30)],
                  controls=[_c("Purity", "electrophoresis", "%", 96, 100)])


def _ultrafiltration(code: str, after: list[str], output: float) -> dict[str, Any]:
    return _phase(code, "Ultrafiltration and diafiltration", "Purification", "Concentration", "uf_skid",
                  "Concentrate, then diafilter against 6 volumes of buffer.", after,
                  parameters=[_p("Concentration factor", "x", 4, 6), _p("Diafiltration volumes", "volumes", 6, 8),
                              _p("Retentate temperature", "°C", 2, 12, "UFD-TT-203", 60),
                              _p("Feed pressure", "bar", None, 3, "UFD-PT-201", 30)],
                  controls=[_c("Residual ethanol", "GC", "%", None, 0.1), _c("Protein", "biuret", "g/L", 190, 260)],
                  output=output, outputUnit="kg", yieldLowPct=92, yieldHighPct=101, balanceLowPct=97,
                  balanceHighPct=101)


def _inactivation(code: str, name: str, tag: str, temp: tuple[float, float], hours: tuple[float, float],
                  after: list[str]) -> dict[str, Any]:
    return _phase(code, name, "Virus inactivation", "Inactivation", "inactivation_tank",
                  f"Hold at {temp[0]:g}-{temp[1]:g} °C for {hours[0]:g}-{hours[1]:g} h with agitation.", after,
                  parameters=[_p("Inactivation temperature", "°C", *temp, tag, 60),
                              _p("Inactivation time", "h", *hours)],
                  signatures=["PERFORMED", "VERIFIED"])


def _fill(after: list[str], output: float) -> dict[str, Any]:
    return _phase("FILL", "Aseptic filling", "Filling", "Filling", "filling_line",
                  "Fill 50 mL vials under grade A; check fill weight every 30 minutes.", after,
                  parameters=[_p("Fill weight", "kg", 0.051, 0.054, "FIL-WT-202", 10),
                              _p("Particles >=0.5 µm", "counts/m3", None, 3520, "FIL-AT-104", 60),
                              _p("Sterilisation temperature", "°C", 121, 124, "FBG-TT-301", 60),
                              _p("Sterilisation time", "min", 20, 30), _p("Settle-plate count", "cfu/4 h", 0, 1)],
                  controls=[_c("Fill volume", "gravimetric", "mL", 49.5, 51.5)],
                  output=output, outputUnit="vials", yieldLowPct=95, yieldHighPct=100, balanceLowPct=99,
                  balanceHighPct=100.5, signatures=["PERFORMED", "VERIFIED"])


def _inspect(after: list[str]) -> dict[str, Any]:
    return _phase("INSP", "Incubation and visual inspection", "Inspection", "Visual inspection",
                  "inspection_machine", "Incubate 14 days at 20-25 °C, then inspect every vial under the lamp.",
                  after, parameters=[_p("Incubation time", "d", 14, 21), _p("Illuminance", "lx", 2000, 3750),
                                     _p("Star wheel speed", "rpm", 100, 300, "VIS-ST-201", 30)])


ALBUMIN: Recipe = {
    "code": "ALB-20", "product": "Human Albumin 20%", "name": "Human albumin 20 %, cold-ethanol process",
    "specification": "20 %, 10 g/50 mL", "batchSize": 2400, "batchUnit": "kg plasma",
    "changeNote": "First version for the demo plant.", "phases": [
        _thaw([]),
        _fraction("FRAC-I", "Fraction I precipitation", 2, (7.0, 7.4), (-3, -1), ["THAW"], 190),
        _fraction("FRAC-V", "Fraction V precipitation", 5, (4.6, 5.0), (-7, -3), ["FRAC-I"], 720),
        _separate("SEP-V", ["FRAC-V"], 90),
        _ultrafiltration("UF", ["SEP-V"], 260),
        _inactivation("PAST", "Pasteurisation", "VIN-TT-201", (59.5, 60.5), (10, 11), ["UF"]),
        _fill(["PAST"], 5000),
        _inspect(["FILL"]),
    ]}

IVIG: Recipe = {
    "code": "IVIG-10", "product": "Human Immunoglobulin (pH 4) for IV injection",
    "name": "IVIG 10 %, fractionation with chromatography and S/D", "specification": "10 %, 5 g/50 mL",
    "batchSize": 2400, "batchUnit": "kg plasma", "changeNote": "First version for the demo plant.", "phases": [
        _thaw([]),
        _fraction("FRAC-II", "Fraction II+III precipitation", 3, (6.7, 7.1), (-7, -3), ["THAW"], 620),
        _separate("SEP-II", ["FRAC-II"], 120),
        _chromatography("CHROM", ["SEP-II"]),
        _inactivation("SD", "Solvent/detergent treatment", "VIN-TT-301", (24, 26), (6, 8), ["CHROM"]),
        _ultrafiltration("UF", ["SD"], 300),
        _fill(["UF"], 4800),
        _inspect(["FILL"]),
    ]}

FACTOR_VIII: Recipe = {
    "code": "FVIII-500", "product": "Human Coagulation Factor VIII", "name": "Factor VIII 500 IU, freeze-dried",
    "specification": "500 IU/vial", "batchSize": 2400, "batchUnit": "kg plasma",
    "changeNote": "First version for the demo plant.", "phases": [
        _thaw([]),
        _separate("CRYO", ["THAW"], 24) | {"name": "Separate the cryoprecipitate", "equipmentClass": "centrifuge",
                                           "parameters": [_p("Centrifuge speed", "rpm", 5000, 7000, "THP-ST-401", 30),
                                                          _p("Precipitate temperature", "°C", 0, 6, "THP-TT-402",
                                                             60)]},
        _chromatography("CHROM", ["CRYO"]),
        _inactivation("SD", "Solvent/detergent treatment", "VIN-TT-301", (24, 26), (6, 8), ["CHROM"]),
        _fill(["SD"], 3000),
        _inspect(["FILL"]),
    ]}

RECIPES: tuple[Recipe, ...] = (ALBUMIN, IVIG, FACTOR_VIII)

STEP: dict[str, str] = {
    "THAW": "thawing and pooling", "FRAC-I": "fractionation", "FRAC-V": "fractionation",
    "FRAC-II": "fractionation", "SEP-V": "separation", "SEP-II": "separation", "CRYO": "separation",
    "CHROM": "chromatography", "UF": "ultrafiltration", "PAST": "inactivation", "SD": "inactivation",
    "FILL": "filling", "INSP": "visual inspection",
}
