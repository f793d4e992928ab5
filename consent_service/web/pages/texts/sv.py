"""The privacy pages' texts in Swedish."""

from __future__ import annotations

TEXTS = {
    "notice_title": "Integritetsmeddelande",
    "languages": "Språk",
    "last_updated": "Senast uppdaterad:",
    "notice_intro": "Det här meddelandet förklarar vilka personuppgifter {business} samlar in på den här "
    "webbplatsen, var de kommer ifrån, varför de används, vem som tar emot dem, om de säljs eller delas, hur "
    "länge de sparas och hur du använder dina integritetsrättigheter.",
    "h_collected": "Personuppgifter vi samlar in",
    "col_category": "Kategori",
    "col_sources": "Källor",
    "col_used_for": "Används för",
    "col_sold": "Säljs eller delas",
    "col_kept": "Sparas i",
    "h_purposes": "Varför vi använder dem",
    "col_purpose": "Ändamål",
    "col_information": "Personuppgifter",
    "col_recipients": "Lämnas ut till",
    "h_recipients": "Vem som tar emot dem",
    "col_recipient": "Mottagare",
    "sold_yes": "Ja: säljs eller delas",
    "sold_no": "Nej",
    "none": "Inga",
    "days": "{days} dagar",
    "see_retention": "Se ”Hur länge vi sparar dem”",
    "h_sale": "Försäljning och delning",
    "sale_yes": "Vi säljer eller delar personuppgifter, så som amerikanska integritetslagar definierar de "
    "orden, för dessa ändamål: {purposes}.",
    "sale_categories": "Kategorier som säljs eller delas: {categories}.",
    "sale_recipients": "Säljs till eller delas med: {recipients}.",
    "sale_no": "Vi säljer eller delar inte personuppgifter.",
    "under_16_no": "Vi har ingen faktisk kännedom om att vi säljer eller delar personuppgifter om "
    "konsumenter under 16 år.",
    "under_16_yes": "Vi säljer eller delar personuppgifter om konsumenter under 16 år endast med deras "
    "uttryckliga tillstånd (under 13 år en förälders eller vårdnadshavares).",
    "h_retention": "Hur länge vi sparar dem",
    "retention_service": "Uppgifter om dina integritetsval, som vår samtyckestjänst sparar:",
    "keep_opt_out": "Ett avböjande av försäljning eller delning: {days} dagar efter ditt senaste besök. "
    "Varje besök förnyar det, så det upphör inte så länge du kommer tillbaka.",
    "keep_consent": "Ett samtycke du ger: {days} dagar; sedan frågar vi igen.",
    "keep_record": "Andra uppgifter om dina val, inklusive en Global Privacy Control-signal: {days} dagar "
    "efter ditt senaste besök.",
    "keep_history": "Historiken över dina val och vår förteckning över integritetsförfrågningar: {days} dagar.",
    "h_rights": "Dina rättigheter",
    "right_opt_out": "Avböj försäljning och delning.",
    "right_opt_out_detail": "I ett steg, utan konto eller inloggning:",
    "account_wide": "När du är inloggad gäller ditt avböjande även ditt konto, på varje enhet där du loggar in.",
    "right_know": "Få veta och få en kopia.",
    "right_know_detail": "Du kan fråga vilka personuppgifter vi har om dig, var de kommer ifrån, varför vi "
    "använder dem och vem som tar emot dem. Det som finns sparat om den här webbläsaren hittar du här:",
    "right_delete": "Radera.",
    "right_delete_detail": "Du kan be oss radera dina personuppgifter. För den här webbläsarens uppgifter "
    "använder du samma sida; för allt annat kontaktar du oss.",
    "right_correct": "Rätta.",
    "right_correct_detail": "Du kan be oss rätta felaktiga personuppgifter: kontakta oss.",
    "right_limit": "Begränsa användningen av känsliga personuppgifter.",
    "right_limit_detail": "Kontakta oss för att begränsa användningen till det som behövs för det du bett om.",
    "right_equal": "Ingen diskriminering.",
    "right_equal_detail": "Vi nekar dig inte varor eller tjänster, tar inte ut ett annat pris och ger dig "
    "inte en annan kvalitet för att du använt någon av dessa rättigheter.",
    "verify": "Så kontrollerar vi förfrågningar: för den här webbläsarens uppgifter är webbläsarens egen "
    "kaka beviset, så ingen annan kan se eller radera dem. För andra förfrågningar jämför vi det du berättar "
    "med det vi har, och ber inte om mer än vi behöver.",
    "h_gpc": "Global Privacy Control",
    "gpc_text": "Vi respekterar Global Privacy Control. När din webbläsare skickar signalen (huvudet "
    "Sec-GPC: 1) behandlar vi den som en giltig begäran om att avböja försäljning och delning, för den här "
    "webbläsaren och, när du är inloggad, för ditt konto. Du behöver inte göra något mer; våra sidor visar "
    "då ”{honored}”.",
    "gpc_final": "Ett senare val på den här webbplatsen slår inte på försäljningen eller delningen igen.",
    "gpc_lift": "Om du senare uttryckligen samtycker igen på den här webbplatsen följer vi det nyare valet.",
    "h_agents": "Behöriga ombud",
    "agents_text": "Någon du ger behörighet kan göra dessa förfrågningar åt dig. Ombudet kontaktar oss "
    "(nedan) med ditt undertecknade tillstånd; vi kan be dig bekräfta din identitet direkt hos oss. Ett ombud "
    "kan också avböja åt dig genom att skicka Global Privacy Control eller via sidan för avböjande.",
    "h_contact": "Kontakt",
    "contact_text": "För en förfrågan, eller med frågor om det här meddelandet, kontakta {business}:",
    "contact_email": "E-post",
    "contact_url": "Webbformulär",
    "contact_phone": "Telefon",
    "h_more": "Mer information",
    "notice_missing": "Den som driver den här webbplatsen har inte publicerat något integritetsmeddelande här.",
    "unknown_site": "Det finns ingen sådan webbplats här.",
    "not_found_title": "Hittades inte",
    "data_title": "Dina uppgifter",
    "data_link": "Dina uppgifter: få en kopia eller radera dem",
    "data_intro": "Den här tjänsten sparar de integritetsval som gjorts i den här webbläsaren för den här "
    "webbplatsen, kopplade till webbläsaren med en kaka. Här kan du få en kopia av dem eller radera dem.",
    "h_download": "Få en kopia",
    "download": "Ladda ner en kopia av dina uppgifter",
    "download_detail": "En JSON-fil med dina val och deras historik.",
    "h_delete": "Radera dina uppgifter",
    "delete_button": "Radera mina uppgifter",
    "tombstone": "När dina uppgifter raderas sparar vi bara att du har avböjt försäljning eller delning av "
    "dina personuppgifter (och en eventuell Global Privacy Control-signal), utan några andra detaljer: om "
    "även det raderades skulle försäljningen slås på igen. Tidigare loggposter kan inte längre kopplas till "
    "den här enheten.",
    "deleted": "Dina uppgifter har raderats.",
    "nothing_held": "Inget finns sparat för den här webbläsaren: här finns inga integritetsval registrerade.",
    "other_data": "Den här sidan gäller bara registreringen av dina integritetsval. För andra "
    "personuppgifter, kontakta den som driver webbplatsen.",
    "other_data_notice": "Den här sidan gäller bara registreringen av dina integritetsval. För andra "
    "personuppgifter, se integritetsmeddelandet.",
    "problem_form": "Formuläret har gått ut eller kom inte från den här sidan. Tryck på knappen igen.",
    "problem_store": "Dina uppgifter kunde inte raderas just nu. Försök igen om en stund.",
    "problem_opt_out": "Ditt avböjande kunde inte registreras just nu. Tryck på knappen igen om en stund.",
    "category_identifiers": "Identifierare",
    "category_customer_records": "Uppgifter i kundregister",
    "category_protected_characteristics": "Egenskaper hos skyddade grupper",
    "category_commercial": "Kommersiell information",
    "category_biometric": "Biometriska uppgifter",
    "category_internet_activity": "Aktivitet på internet eller andra elektroniska nätverk",
    "category_geolocation": "Platsuppgifter",
    "category_sensory": "Ljud-, elektronisk, visuell, termisk, lukt- eller liknande information",
    "category_professional": "Yrkes- eller anställningsrelaterade uppgifter",
    "category_education": "Utbildningsuppgifter",
    "category_inferences": "Slutsatser som används för att skapa en profil",
    "category_sensitive": "Känsliga personuppgifter",
    "source_consumer": "Direkt från dig",
    "source_device": "Automatiskt från din webbläsare eller enhet",
    "source_partners": "Från annons- och analyspartner",
    "source_service_providers": "Från våra tjänsteleverantörer",
    "source_affiliates": "Från företag i vår koncern",
    "source_public": "Från offentligt tillgängliga källor",
    "source_data_brokers": "Från datamäklare",
}
