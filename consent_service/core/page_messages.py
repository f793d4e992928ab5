"""The privacy pages' texts (the notice, the your-data and opt-out pages): keys and English.

The source of their gettext catalogs, like core/texts.py for the banner (which keeps them out of the
banner's weight budget); config/catalogs.py reads the translations (`page_texts_for`). Placeholders
in braces (`{business}`, `{days}`, …) are filled in by the templates (the `fill` filter,
web/templating.py), and the result escaped. The texts that show a number have a form per number
(`plural_message`, shown through `plurals_for`).
"""

from __future__ import annotations

from consent_service.core.texts import message, plural_message

PAGE_MESSAGES = (
    message("notice_title", "Privacy notice"),
    message("languages", "Language"),
    message("last_updated", "Last updated:"),
    message(
        "notice_intro",
        "This notice explains which personal information {business} collects on this site, where it "
        "comes from, why it is used, who receives it, whether it is sold or shared, how long it is kept, "
        "and how to use your privacy rights.",
    ),
    message("h_collected", "Personal information we collect"),
    message("col_category", "Category"),
    message("col_sources", "Sources"),
    message("col_used_for", "Used for"),
    message("col_sold", "Sold or shared"),
    message("col_kept", "Kept for"),
    message("h_purposes", "Why we use it"),
    message("col_purpose", "Purpose"),
    message("col_information", "Personal information"),
    message("col_recipients", "Disclosed to"),
    message("h_recipients", "Who receives it"),
    message("col_recipient", "Recipients"),
    message("sold_yes", "Yes: sold or shared"),
    message("sold_no", "No"),
    message("none", "None"),
    message("see_retention", "See “How long we keep it”"),
    message("h_sale", "Sale and sharing"),
    message(
        "sale_yes",
        "We sell or share personal information, as US state privacy laws define these words, for these "
        "purposes: {purposes}.",
    ),
    message("sale_categories", "Categories sold or shared: {categories}."),
    message("sale_recipients", "Sold or shared with: {recipients}."),
    message("sale_no", "We do not sell or share personal information."),
    message(
        "under_16_no",
        "We do not have actual knowledge that we sell or share the personal information of consumers "
        "under 16 years of age.",
    ),
    message(
        "under_16_yes",
        "We sell or share the personal information of consumers under 16 only with their affirmative "
        "authorization (under 13, a parent's or guardian's).",
    ),
    message("h_retention", "How long we keep it"),
    message("retention_service", "Records of your privacy choices, kept by our consent service:"),
    message("h_rights", "Your rights"),
    message("right_opt_out", "Opt out of sale and sharing."),
    message("right_opt_out_detail", "One step, with no account or login needed:"),
    message(
        "account_wide",
        "When you are logged in, your opt-out also applies to your account, on every device where you log in.",
    ),
    message("right_know", "Know and get a copy."),
    message(
        "right_know_detail",
        "You may ask which personal information we hold about you, where it came from, why we use it and "
        "who receives it. What is held about this browser is here:",
    ),
    message("right_delete", "Delete."),
    message(
        "right_delete_detail",
        "You may ask us to delete your personal information. For this browser's data, use the same page; "
        "for anything else, contact us.",
    ),
    message("right_correct", "Correct."),
    message("right_correct_detail", "You may ask us to correct inaccurate personal information: contact us."),
    message("right_limit", "Limit the use of sensitive personal information."),
    message("right_limit_detail", "Contact us to limit its use to what is needed to provide what you asked for."),
    message("right_equal", "No discrimination."),
    message(
        "right_equal_detail",
        "We will not deny you goods or services, charge you a different price or give you a different "
        "quality of service because you used any of these rights.",
    ),
    message(
        "verify",
        "How we verify requests: for this browser's data, the browser's own cookie is the proof, so "
        "nobody else can see or delete it. For other requests we match what you tell us with what we "
        "hold, and ask for no more than we need.",
    ),
    message("h_gpc", "Global Privacy Control"),
    message(
        "gpc_text",
        "We honour Global Privacy Control. When your browser sends the signal (the Sec-GPC: 1 header), "
        "we treat it as a valid request to opt out of sale and sharing, for this browser and, when you "
        "are logged in, for your account. You need to do nothing else; our pages then say “{honored}”.",
    ),
    message("gpc_final", "A later choice on this site does not switch the sale or sharing back on."),
    message("gpc_lift", "If you later explicitly opt back in on this site, we follow that newer choice."),
    message("h_agents", "Authorized agents"),
    message(
        "agents_text",
        "Someone you authorize may make these requests for you. The agent contacts us (below) with your "
        "signed permission; we may ask you to confirm your identity with us directly. An agent may also "
        "opt you out by sending Global Privacy Control or by using the opt-out page.",
    ),
    message("h_contact", "Contact"),
    message("contact_text", "To make a request, or with questions about this notice, contact {business}:"),
    message("contact_email", "Email"),
    message("contact_url", "Web form"),
    message("contact_phone", "Phone"),
    message("h_more", "More information"),
    message("notice_missing", "The operator of this site has not published a privacy notice here."),
    message("unknown_site", "There is no such site here."),
    message("not_found_title", "Not found"),
    message("data_title", "Your data"),
    message("data_link", "Your data: get a copy or delete it"),
    message(
        "data_intro",
        "This service keeps a record of the privacy choices made in this browser for this site, tied to "
        "the browser by a cookie. Here you can get a copy of it or delete it.",
    ),
    message("h_download", "Get a copy"),
    message("download", "Download a copy of your data"),
    message("download_detail", "A JSON file with your choices and their history."),
    message("h_delete", "Delete your data"),
    message("delete_button", "Delete my data"),
    message(
        "tombstone",
        "Deleting your data keeps only the fact that you opted out of the sale or sharing of your "
        "personal information (and any Global Privacy Control signal), without any other detail: "
        "deleting that too would switch the sale back on. Earlier audit entries can no longer be tied to "
        "this device.",
    ),
    message("deleted", "Your data has been deleted."),
    message("nothing_held", "Nothing is held for this browser: it has no record of privacy choices here."),
    message(
        "other_data",
        "This page covers the record of your privacy choices only. For other personal information, "
        "contact the operator of this site.",
    ),
    message(
        "other_data_notice",
        "This page covers the record of your privacy choices only. For other personal information, see "
        "the privacy notice.",
    ),
    message("problem_form", "This form has expired or did not come from this page. Please press the button again."),
    message("problem_store", "Your data could not be deleted just now. Please try again in a moment."),
    message(
        "problem_opt_out", "Your opt-out could not be recorded just now. Please press the button again in a moment."
    ),
    message("category_identifiers", "Identifiers"),
    message("category_customer_records", "Customer records information"),
    message("category_protected_characteristics", "Characteristics of protected classifications"),
    message("category_commercial", "Commercial information"),
    message("category_biometric", "Biometric information"),
    message("category_internet_activity", "Internet or other electronic network activity information"),
    message("category_geolocation", "Geolocation data"),
    message("category_sensory", "Audio, electronic, visual, thermal, olfactory or similar information"),
    message("category_professional", "Professional or employment-related information"),
    message("category_education", "Education information"),
    message("category_inferences", "Inferences drawn to create a profile"),
    message("category_sensitive", "Sensitive personal information"),
    message("source_consumer", "Directly from you"),
    message("source_device", "Automatically from your browser or device"),
    message("source_partners", "From advertising and analytics partners"),
    message("source_service_providers", "From our service providers"),
    message("source_affiliates", "From companies in our group"),
    message("source_public", "From publicly available sources"),
    message("source_data_brokers", "From data brokers"),
)

PAGE_PLURALS = (
    plural_message("days", "{days} day", "{days} days"),
    plural_message(
        "keep_opt_out",
        "An opt-out of sale or sharing: {days} day after your last visit. Each visit renews it, so it "
        "does not lapse while you keep coming back.",
        "An opt-out of sale or sharing: {days} days after your last visit. Each visit renews it, so it "
        "does not lapse while you keep coming back.",
    ),
    plural_message(
        "keep_consent",
        "A consent you give: {days} day; after that we ask again.",
        "A consent you give: {days} days; after that we ask again.",
    ),
    plural_message(
        "keep_record",
        "Other records of your choices, a Global Privacy Control signal included: {days} day after your last visit.",
        "Other records of your choices, a Global Privacy Control signal included: {days} days after your last visit.",
    ),
    plural_message(
        "keep_history",
        "The history of your choices and our record of privacy requests: {days} day.",
        "The history of your choices and our record of privacy requests: {days} days.",
    ),
)

PAGE_KEYS = tuple(key for key, _ in PAGE_MESSAGES) + tuple(key for key, _, _ in PAGE_PLURALS)
ENGLISH = dict(PAGE_MESSAGES)
TOMBSTONE_NOTE = ENGLISH["tombstone"]
