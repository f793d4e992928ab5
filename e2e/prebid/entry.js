// Prebid.js as a publisher bundles it from npm (its README, "Usage (as a npm dependency)"): the core,
// the consent modules (TCF, GPP, USP), the GPP usnat activity control, TCF enforcement
// (tcfControl) and the AppNexus/Xandr bid adapter (GVL id 32). Built by build.mjs for
// e2e/test_prebid.py; the bundle defines the global `pbjs` and runs its queue.
import pbjs from "prebid.js";
import "prebid.js/modules/consentManagementTcf";
import "prebid.js/modules/consentManagementGpp";
import "prebid.js/modules/consentManagementUsp";
import "prebid.js/modules/gppControl_usnat";
import "prebid.js/modules/tcfControl";
import "prebid.js/modules/appnexusBidAdapter";

pbjs.processQueue();
