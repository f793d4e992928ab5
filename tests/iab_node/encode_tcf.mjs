// Loads a GVL with IAB's reference implementation (@iabtechlabtcf/core) and encodes TC strings with it,
// for tests/test_gvl_iab.py (the library encodes only with a GVL).
// stdin: {"gvl": <the GVL v3 JSON>, "models": [{created_ds, updated_ds, cmp_id, …, vendors_disclosed,
// publisher_consents, publisher_legitimate_interests}, …]}.
// stdout: {"gvl": what the library read from the list, "strings": one TC string per model, in order}.
import { readFileSync } from "node:fs";
import { GVL, TCModel, TCString } from "@iabtechlabtcf/core";

const sorted = (ids) => ids.map(Number).sort((a, b) => a - b);
const keys = (object) => sorted(Object.keys(object ?? {}));

function summary(gvl) {
  const byPurpose = (get) => Object.fromEntries(keys(gvl.purposes).map((id) => [id, keys(get(id))]));
  const names = (section) => Object.fromEntries(keys(section).map((id) => [id, section[id].name]));
  return {
    gvlSpecificationVersion: gvl.gvlSpecificationVersion,
    vendorListVersion: gvl.vendorListVersion,
    tcfPolicyVersion: gvl.tcfPolicyVersion,
    lastUpdated: gvl.lastUpdated.toISOString(),
    language: gvl.language,
    purposes: names(gvl.purposes),
    specialPurposes: names(gvl.specialPurposes),
    features: names(gvl.features),
    specialFeatures: names(gvl.specialFeatures),
    stacks: names(gvl.stacks),
    vendors: Object.fromEntries(keys(gvl.vendors).map((id) => [id, gvl.vendors[id].name])),
    consent: byPurpose((id) => gvl.getVendorsWithConsentPurpose(id)),
    legitimateInterest: byPurpose((id) => gvl.getVendorsWithLegIntPurpose(id)),
    flexible: byPurpose((id) => gvl.getVendorsWithFlexiblePurpose(id)),
    specialFeatureVendors: Object.fromEntries(
      keys(gvl.specialFeatures).map((id) => [id, keys(gvl.getVendorsWithSpecialFeature(id))]),
    ),
  };
}

function encode(gvl, m) {
  const tc = new TCModel(gvl);
  tc.created = new Date(m.created_ds * 100);
  tc.lastUpdated = new Date(m.updated_ds * 100);
  tc.cmpId = m.cmp_id;
  tc.cmpVersion = m.cmp_version;
  tc.consentScreen = m.consent_screen;
  tc.publisherCountryCode = m.publisher_cc;
  tc.isServiceSpecific = m.is_service_specific;
  tc.useNonStandardTexts = m.use_non_standard_texts;
  tc.purposeOneTreatment = m.purpose_one_treatment;
  tc.specialFeatureOptins.set(m.special_feature_opt_ins);
  tc.purposeConsents.set(m.purpose_consents);
  tc.purposeLegitimateInterests.set(m.purpose_legitimate_interests);
  tc.vendorConsents.set(m.vendor_consents);
  tc.vendorLegitimateInterests.set(m.vendor_legitimate_interests);
  tc.vendorsDisclosed.set(m.vendors_disclosed);
  tc.publisherConsents.set(m.publisher_consents);
  tc.publisherLegitimateInterests.set(m.publisher_legitimate_interests);
  return TCString.encode(tc);
}

const input = JSON.parse(readFileSync(0, "utf8"));
const gvl = new GVL(input.gvl);
process.stdout.write(JSON.stringify({ gvl: summary(gvl), strings: input.models.map((m) => encode(gvl, m)) }));
