// Decodes TC strings with IAB's reference implementation (@iabtechlabtcf/core), for tests/test_tcf.py.
// stdin: a JSON array of TC strings. stdout: a JSON array, one object per string, in order, with the
// fields the library read (ids as sorted arrays, times in deciseconds), or {error} when it refused it.
import { readFileSync } from "node:fs";
import { TCString } from "@iabtechlabtcf/core";

function ids(vector) {
  const out = [];
  vector.forEach((on, id) => {
    if (on) out.push(id);
  });
  return out.sort((a, b) => a - b);
}

function decode(tc) {
  try {
    const m = TCString.decode(tc);
    return {
      version: m.version,
      created_ds: Math.round(m.created.getTime() / 100),
      updated_ds: Math.round(m.lastUpdated.getTime() / 100),
      cmp_id: m.cmpId,
      cmp_version: m.cmpVersion,
      consent_screen: m.consentScreen,
      consent_language: m.consentLanguage,
      vendor_list_version: m.vendorListVersion,
      policy_version: m.policyVersion,
      is_service_specific: m.isServiceSpecific,
      use_non_standard_texts: m.useNonStandardTexts,
      special_feature_opt_ins: ids(m.specialFeatureOptins),
      purpose_consents: ids(m.purposeConsents),
      purpose_legitimate_interests: ids(m.purposeLegitimateInterests),
      purpose_one_treatment: m.purposeOneTreatment,
      publisher_cc: m.publisherCountryCode,
      vendor_consents: ids(m.vendorConsents),
      vendor_legitimate_interests: ids(m.vendorLegitimateInterests),
      vendors_disclosed: ids(m.vendorsDisclosed),
      publisher_consents: ids(m.publisherConsents),
      publisher_legitimate_interests: ids(m.publisherLegitimateInterests),
    };
  } catch (error) {
    return { error: String(error) };
  }
}

const strings = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(strings.map(decode)));
