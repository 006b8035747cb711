"""Physical and numerical constants, with the reference's values where it fixes them."""
import sys

# degrees per radian exactly as the reference forms it (180.0*M_1_PI), so that
# angle conversions round the same way
M_1_PI = 0.318309886183790671538
RTD = 180.0 * M_1_PI

AVOGADRO = 6.02214179e23
R_E_SQR_M2 = 7.94079248018965e-30          # Thomson cross-section r_e^2 (m^2)
DEFAULT_FLUENCE = 125932015286227086360700780544.0  # photons/m^2
WATER_F = 2.57                             # forward-scattering F of water (electrons)
WATER_MW = 18.0                            # g/mol
HC_EV_A = 12398.42                         # lambda[A] = HC_EV_A / energy[eV]

# smallest normal double (C's DBL_MIN): the reference's guard against dividing by zero
DBL_MIN = sys.float_info.min
