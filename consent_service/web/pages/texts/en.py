"""The privacy pages' texts in English (every key: the fallback of the others)."""

from __future__ import annotations

from consent_service.rights.device_data import TOMBSTONE_NOTE

TEXTS = {
    # the notice
    "notice_title": "Privacy notice",
    "languages": "Language",
    "last_updated": "Last updated:",
    "notice_intro": "This notice explains which personal information {business} collects on this site, where "
    "it comes from, why it is used, who receives it, whether it is sold or shared, how long it is kept, and "
    "how to use your privacy rights.",
    "h_collected": "Personal information we collect",
    "col_category": "Category",
    "col_sources": "Sources",
    "col_used_for": "Used for",
    "col_sold": "Sold or shared",
    "col_kept": "Kept for",
    "h_purposes": "Why we use it",
    "col_purpose": "Purpose",
    "col_information": "Personal information",
    "col_recipients": "Disclosed to",
    "h_recipients": "Who receives it",
    "col_recipient": "Recipients",
    "sold_yes": "Yes: sold or shared",
    "sold_no": "No",
    "none": "None",
    "days": "{days} days",
    "see_retention": "See “How long we keep it”",
    "h_sale": "Sale and sharing",
    "sale_yes": "We sell or share personal information, as US state privacy laws define these words, for "
    "these purposes: {purposes}.",
    "sale_categories": "Categories sold or shared: {categories}.",
    "sale_recipients": "Sold or shared with: {recipients}.",
    "sale_no": "We do not sell or share personal information.",
    "under_16_no": "We do not have actual knowledge that we sell or share the personal information of "
    "consumers under 16 years of age.",
    "under_16_yes": "We sell or share the personal information of consumers under 16 only with their "
    "affirmative authorization (under 13, a parent's or guardian's).",
    "h_retention": "How long we keep it",
    "retention_service": "Records of your privacy choices, kept by our consent service:",
    "keep_opt_out": "An opt-out of sale or sharing: {days} days after your last visit. Each visit renews it, "
    "so it does not lapse while you keep coming back.",
    "keep_consent": "A consent you give: {days} days; after that we ask again.",
    "keep_record": "Other records of your choices, a Global Privacy Control signal included: {days} days "
    "after your last visit.",
    "keep_history": "The history of your choices and our record of privacy requests: {days} days.",
    "h_rights": "Your rights",
    "right_opt_out": "Opt out of sale and sharing.",
    "right_opt_out_detail": "One step, with no account or login needed:",
    "account_wide": "When you are logged in, your opt-out also applies to your account, on every device "
    "where you log in.",
    "right_know": "Know and get a copy.",
    "right_know_detail": "You may ask which personal information we hold about you, where it came from, why "
    "we use it and who receives it. What is held about this browser is here:",
    "right_delete": "Delete.",
    "right_delete_detail": "You may ask us to delete your personal information. For this browser's data, "
    "use the same page; for anything else, contact us.",
    "right_correct": "Correct.",
    "right_correct_detail": "You may ask us to correct inaccurate personal information: contact us.",
    "right_limit": "Limit the use of sensitive personal information.",
    "right_limit_detail": "Contact us to limit its use to what is needed to provide what you asked for.",
    "right_equal": "No discrimination.",
    "right_equal_detail": "We will not deny you goods or services, charge you a different price or give you "
    "a different quality of service because you used any of these rights.",
    "verify": "How we verify requests: for this browser's data, the browser's own cookie is the proof, so "
    "nobody else can see or delete it. For other requests we match what you tell us with what we hold, and "
    "ask for no more than we need.",
    "h_gpc": "Global Privacy Control",
    "gpc_text": "We honour Global Privacy Control. When your browser sends the signal (the Sec-GPC: 1 "
    "header), we treat it as a valid request to opt out of sale and sharing, for this browser and, when you "
    "are logged in, for your account. You need to do nothing else; our pages then say “{honored}”.",
    "gpc_final": "A later choice on this site does not switch the sale or sharing back on.",
    "gpc_lift": "If you later explicitly opt back in on this site, we follow that newer choice.",
    "h_agents": "Authorized agents",
    "agents_text": "Someone you authorize may make these requests for you. The agent contacts us (below) "
    "with your signed permission; we may ask you to confirm your identity with us directly. An agent may "
    "also opt you out by sending Global Privacy Control or by using the opt-out page.",
    "h_contact": "Contact",
    "contact_text": "To make a request, or with questions about this notice, contact {business}:",
    "contact_email": "Email",
    "contact_url": "Web form",
    "contact_phone": "Phone",
    "h_more": "More information",
    "notice_missing": "The operator of this site has not published a privacy notice here.",
    "unknown_site": "There is no such site here.",
    "not_found_title": "Not found",
    # the your-data page
    "data_title": "Your data",
    "data_link": "Your data: get a copy or delete it",
    "data_intro": "This service keeps a record of the privacy choices made in this browser for this site, "
    "tied to the browser by a cookie. Here you can get a copy of it or delete it.",
    "h_download": "Get a copy",
    "download": "Download a copy of your data",
    "download_detail": "A JSON file with your choices and their history.",
    "h_delete": "Delete your data",
    "delete_button": "Delete my data",
    "tombstone": TOMBSTONE_NOTE,
    "deleted": "Your data has been deleted.",
    "nothing_held": "Nothing is held for this browser: it has no record of privacy choices here.",
    "other_data": "This page covers the record of your privacy choices only. For other personal "
    "information, contact the operator of this site.",
    "other_data_notice": "This page covers the record of your privacy choices only. For other personal "
    "information, see the privacy notice.",
    # what a form's post came to when it could not be done (the your-data page and the opt-out page)
    "problem_form": "This form has expired or did not come from this page. Please press the button again.",
    "problem_store": "Your data could not be deleted just now. Please try again in a moment.",
    "problem_opt_out": "Your opt-out could not be recorded just now. Please press the button again in a moment.",
    # categories of personal information (Cal. Civ. Code §1798.140(v)(1)) and of sources
    "category_identifiers": "Identifiers",
    "category_customer_records": "Customer records information",
    "category_protected_characteristics": "Characteristics of protected classifications",
    "category_commercial": "Commercial information",
    "category_biometric": "Biometric information",
    "category_internet_activity": "Internet or other electronic network activity information",
    "category_geolocation": "Geolocation data",
    "category_sensory": "Audio, electronic, visual, thermal, olfactory or similar information",
    "category_professional": "Professional or employment-related information",
    "category_education": "Education information",
    "category_inferences": "Inferences drawn to create a profile",
    "category_sensitive": "Sensitive personal information",
    "source_consumer": "Directly from you",
    "source_device": "Automatically from your browser or device",
    "source_partners": "From advertising and analytics partners",
    "source_service_providers": "From our service providers",
    "source_affiliates": "From companies in our group",
    "source_public": "From publicly available sources",
    "source_data_brokers": "From data brokers",
}
