// The public header must compile as C++ (extern "C", no C-only syntax).
#include "tenreg.h"

int main()
{
    tenreg_resolution r = {};
    (void)r;
    return tenreg_serves(TENREG_HEALTHY, TENREG_SERVE_DEFAULT) == 1 &&
                   tenreg_version() == TENREG_VERSION_NUMBER
               ? 0
               : 1;
}
