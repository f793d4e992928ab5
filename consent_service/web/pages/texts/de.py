"""The privacy pages' texts in German."""

from __future__ import annotations

TEXTS = {
    "notice_title": "Datenschutzhinweis",
    "languages": "Sprache",
    "last_updated": "Zuletzt aktualisiert:",
    "notice_intro": "Dieser Hinweis erklärt, welche personenbezogenen Daten {business} auf dieser Website "
    "erhebt, woher sie stammen, wofür sie verwendet werden, wer sie erhält, ob sie verkauft oder "
    "weitergegeben werden, wie lange sie gespeichert werden und wie Sie Ihre Datenschutzrechte ausüben.",
    "h_collected": "Personenbezogene Daten, die wir erheben",
    "col_category": "Kategorie",
    "col_sources": "Quellen",
    "col_used_for": "Verwendet für",
    "col_sold": "Verkauft oder weitergegeben",
    "col_kept": "Gespeichert",
    "h_purposes": "Wofür wir sie verwenden",
    "col_purpose": "Zweck",
    "col_information": "Personenbezogene Daten",
    "col_recipients": "Offengelegt gegenüber",
    "h_recipients": "Wer sie erhält",
    "col_recipient": "Empfänger",
    "sold_yes": "Ja: verkauft oder weitergegeben",
    "sold_no": "Nein",
    "none": "Keine",
    "days": "{days} Tage",
    "see_retention": "Siehe „Wie lange wir sie speichern“",
    "h_sale": "Verkauf und Weitergabe",
    "sale_yes": "Wir verkaufen oder teilen personenbezogene Daten im Sinne der US-Datenschutzgesetze für "
    "diese Zwecke: {purposes}.",
    "sale_categories": "Verkaufte oder weitergegebene Kategorien: {categories}.",
    "sale_recipients": "Verkauft an oder geteilt mit: {recipients}.",
    "sale_no": "Wir verkaufen oder teilen keine personenbezogenen Daten.",
    "under_16_no": "Uns ist nicht bekannt, dass wir personenbezogene Daten von Verbrauchern unter 16 Jahren "
    "verkaufen oder teilen.",
    "under_16_yes": "Personenbezogene Daten von Verbrauchern unter 16 Jahren verkaufen oder teilen wir nur "
    "mit deren ausdrücklicher Zustimmung (unter 13 Jahren der eines Elternteils oder Vormunds).",
    "h_retention": "Wie lange wir sie speichern",
    "retention_service": "Aufzeichnungen Ihrer Datenschutzauswahl, die unser Einwilligungsdienst speichert:",
    "keep_opt_out": "Ein Widerspruch gegen Verkauf oder Weitergabe: {days} Tage nach Ihrem letzten Besuch. "
    "Jeder Besuch verlängert ihn, sodass er nicht verfällt, solange Sie wiederkommen.",
    "keep_consent": "Eine Einwilligung, die Sie geben: {days} Tage; danach fragen wir erneut.",
    "keep_record": "Andere Aufzeichnungen Ihrer Auswahl, einschließlich eines Global-Privacy-Control-Signals: "
    "{days} Tage nach Ihrem letzten Besuch.",
    "keep_history": "Der Verlauf Ihrer Auswahl und unser Verzeichnis der Datenschutzanfragen: {days} Tage.",
    "h_rights": "Ihre Rechte",
    "right_opt_out": "Verkauf und Weitergabe widersprechen.",
    "right_opt_out_detail": "In einem Schritt, ohne Konto oder Anmeldung:",
    "account_wide": "Wenn Sie angemeldet sind, gilt Ihr Widerspruch auch für Ihr Konto, auf jedem Gerät, "
    "auf dem Sie sich anmelden.",
    "right_know": "Auskunft und Kopie.",
    "right_know_detail": "Sie können fragen, welche personenbezogenen Daten wir über Sie haben, woher sie "
    "stammen, wofür wir sie verwenden und wer sie erhält. Was zu diesem Browser gespeichert ist, finden Sie "
    "hier:",
    "right_delete": "Löschen.",
    "right_delete_detail": "Sie können uns bitten, Ihre personenbezogenen Daten zu löschen. Für die Daten "
    "dieses Browsers nutzen Sie dieselbe Seite; für alles andere kontaktieren Sie uns.",
    "right_correct": "Berichtigen.",
    "right_correct_detail": "Sie können uns bitten, unrichtige personenbezogene Daten zu berichtigen: "
    "kontaktieren Sie uns.",
    "right_limit": "Die Verwendung sensibler personenbezogener Daten einschränken.",
    "right_limit_detail": "Kontaktieren Sie uns, um die Verwendung auf das zu beschränken, was für Ihre "
    "Anfrage nötig ist.",
    "right_equal": "Keine Benachteiligung.",
    "right_equal_detail": "Wir verweigern Ihnen keine Waren oder Dienste, verlangen keinen anderen Preis und "
    "bieten keine andere Qualität, weil Sie eines dieser Rechte genutzt haben.",
    "verify": "Wie wir Anfragen prüfen: Für die Daten dieses Browsers ist das eigene Cookie des Browsers der "
    "Nachweis, sodass niemand sonst sie sehen oder löschen kann. Bei anderen Anfragen gleichen wir Ihre "
    "Angaben mit unseren Daten ab und fragen nicht mehr ab als nötig.",
    "h_gpc": "Global Privacy Control",
    "gpc_text": "Wir beachten Global Privacy Control. Sendet Ihr Browser das Signal (den Header Sec-GPC: 1), "
    "behandeln wir es als gültigen Widerspruch gegen Verkauf und Weitergabe, für diesen Browser und, wenn Sie "
    "angemeldet sind, für Ihr Konto. Sie müssen nichts weiter tun; unsere Seiten zeigen dann „{honored}“.",
    "gpc_final": "Eine spätere Auswahl auf dieser Website schaltet Verkauf oder Weitergabe nicht wieder ein.",
    "gpc_lift": "Wenn Sie später auf dieser Website ausdrücklich wieder einwilligen, folgen wir dieser neueren "
    "Auswahl.",
    "h_agents": "Bevollmächtigte",
    "agents_text": "Eine von Ihnen bevollmächtigte Person kann diese Anfragen für Sie stellen. Sie kontaktiert "
    "uns (unten) mit Ihrer unterschriebenen Vollmacht; wir können Sie bitten, Ihre Identität direkt bei uns "
    "zu bestätigen. Bevollmächtigte können auch per Global Privacy Control oder über die Widerspruchsseite "
    "für Sie widersprechen.",
    "h_contact": "Kontakt",
    "contact_text": "Für Anfragen oder Fragen zu diesem Hinweis kontaktieren Sie {business}:",
    "contact_email": "E-Mail",
    "contact_url": "Webformular",
    "contact_phone": "Telefon",
    "h_more": "Weitere Informationen",
    "notice_missing": "Der Betreiber dieser Website hat hier keinen Datenschutzhinweis veröffentlicht.",
    "unknown_site": "Diese Website gibt es hier nicht.",
    "not_found_title": "Nicht gefunden",
    "data_title": "Ihre Daten",
    "data_link": "Ihre Daten: Kopie erhalten oder löschen",
    "data_intro": "Dieser Dienst speichert die Datenschutzauswahl, die in diesem Browser für diese Website "
    "getroffen wurde, über ein Cookie mit dem Browser verknüpft. Hier können Sie eine Kopie erhalten oder sie "
    "löschen.",
    "h_download": "Eine Kopie erhalten",
    "download": "Eine Kopie Ihrer Daten herunterladen",
    "download_detail": "Eine JSON-Datei mit Ihrer Auswahl und deren Verlauf.",
    "h_delete": "Ihre Daten löschen",
    "delete_button": "Meine Daten löschen",
    "tombstone": "Beim Löschen Ihrer Daten behalten wir nur die Tatsache, dass Sie dem Verkauf oder der "
    "Weitergabe Ihrer personenbezogenen Daten widersprochen haben (und ein etwaiges "
    "Global-Privacy-Control-Signal), ohne weitere Angaben: würden wir auch das löschen, wäre der Verkauf "
    "wieder eingeschaltet. Frühere Protokolleinträge lassen sich diesem Gerät nicht mehr zuordnen.",
    "deleted": "Ihre Daten wurden gelöscht.",
    "nothing_held": "Für diesen Browser ist nichts gespeichert: Hier ist keine Datenschutzauswahl erfasst.",
    "other_data": "Diese Seite betrifft nur die Aufzeichnung Ihrer Datenschutzauswahl. Für andere "
    "personenbezogene Daten wenden Sie sich an den Betreiber dieser Website.",
    "other_data_notice": "Diese Seite betrifft nur die Aufzeichnung Ihrer Datenschutzauswahl. Für andere "
    "personenbezogene Daten siehe den Datenschutzhinweis.",
    "problem_form": "Dieses Formular ist abgelaufen oder kam nicht von dieser Seite. Bitte drücken Sie die "
    "Schaltfläche erneut.",
    "problem_store": "Ihre Daten konnten gerade nicht gelöscht werden. Bitte versuchen Sie es gleich noch einmal.",
    "problem_opt_out": "Ihr Widerspruch konnte gerade nicht erfasst werden. Bitte drücken Sie die Schaltfläche "
    "gleich noch einmal.",
    "category_identifiers": "Identifikatoren",
    "category_customer_records": "Angaben in Kundendatensätzen",
    "category_protected_characteristics": "Merkmale geschützter Gruppen",
    "category_commercial": "Kommerzielle Informationen",
    "category_biometric": "Biometrische Informationen",
    "category_internet_activity": "Aktivitäten im Internet oder in anderen elektronischen Netzwerken",
    "category_geolocation": "Standortdaten",
    "category_sensory": "Audio-, elektronische, visuelle, thermische, olfaktorische oder ähnliche Informationen",
    "category_professional": "Berufs- oder beschäftigungsbezogene Informationen",
    "category_education": "Bildungsinformationen",
    "category_inferences": "Schlussfolgerungen zur Profilbildung",
    "category_sensitive": "Sensible personenbezogene Daten",
    "source_consumer": "Direkt von Ihnen",
    "source_device": "Automatisch von Ihrem Browser oder Gerät",
    "source_partners": "Von Werbe- und Analysepartnern",
    "source_service_providers": "Von unseren Dienstleistern",
    "source_affiliates": "Von Unternehmen unserer Gruppe",
    "source_public": "Aus öffentlich zugänglichen Quellen",
    "source_data_brokers": "Von Datenhändlern",
}
