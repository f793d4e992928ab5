"""The privacy pages' texts in French."""

from __future__ import annotations

TEXTS = {
    "notice_title": "Avis de confidentialité",
    "languages": "Langue",
    "last_updated": "Dernière mise à jour :",
    "notice_intro": "Cet avis explique quelles informations personnelles {business} collecte sur ce site, "
    "d'où elles proviennent, à quoi elles servent, qui les reçoit, si elles sont vendues ou partagées, "
    "combien de temps elles sont conservées et comment exercer vos droits.",
    "h_collected": "Informations personnelles que nous collectons",
    "col_category": "Catégorie",
    "col_sources": "Sources",
    "col_used_for": "Utilisées pour",
    "col_sold": "Vendues ou partagées",
    "col_kept": "Conservées",
    "h_purposes": "Pourquoi nous les utilisons",
    "col_purpose": "Finalité",
    "col_information": "Informations personnelles",
    "col_recipients": "Communiquées à",
    "h_recipients": "Qui les reçoit",
    "col_recipient": "Destinataires",
    "sold_yes": "Oui : vendues ou partagées",
    "sold_no": "Non",
    "none": "Aucune",
    "days": "{days} jours",
    "see_retention": "Voir « Combien de temps nous les conservons »",
    "h_sale": "Vente et partage",
    "sale_yes": "Nous vendons ou partageons des informations personnelles, au sens des lois américaines sur "
    "la vie privée, pour ces finalités : {purposes}.",
    "sale_categories": "Catégories vendues ou partagées : {categories}.",
    "sale_recipients": "Vendues ou partagées à : {recipients}.",
    "sale_no": "Nous ne vendons ni ne partageons d'informations personnelles.",
    "under_16_no": "Nous n'avons pas connaissance de vendre ou de partager les informations personnelles de "
    "consommateurs de moins de 16 ans.",
    "under_16_yes": "Nous ne vendons ou ne partageons les informations personnelles de consommateurs de moins "
    "de 16 ans qu'avec leur autorisation expresse (avant 13 ans, celle d'un parent ou tuteur).",
    "h_retention": "Combien de temps nous les conservons",
    "retention_service": "Enregistrements de vos choix, conservés par notre service de consentement :",
    "keep_opt_out": "Une opposition à la vente ou au partage : {days} jours après votre dernière visite. "
    "Chaque visite la renouvelle ; elle n'expire donc pas tant que vous revenez.",
    "keep_consent": "Un consentement que vous donnez : {days} jours ; ensuite nous vous redemandons.",
    "keep_record": "Les autres enregistrements de vos choix, signal Global Privacy Control compris : "
    "{days} jours après votre dernière visite.",
    "keep_history": "L'historique de vos choix et notre registre des demandes : {days} jours.",
    "h_rights": "Vos droits",
    "right_opt_out": "Vous opposer à la vente et au partage.",
    "right_opt_out_detail": "En une étape, sans compte ni connexion :",
    "account_wide": "Lorsque vous êtes connecté, votre opposition s'applique aussi à votre compte, sur chaque "
    "appareil où vous vous connectez.",
    "right_know": "Savoir et obtenir une copie.",
    "right_know_detail": "Vous pouvez demander quelles informations personnelles nous détenons sur vous, leur "
    "provenance, leur usage et qui les reçoit. Ce qui est conservé pour ce navigateur se trouve ici :",
    "right_delete": "Supprimer.",
    "right_delete_detail": "Vous pouvez nous demander de supprimer vos informations personnelles. Pour les "
    "données de ce navigateur, utilisez la même page ; pour le reste, contactez-nous.",
    "right_correct": "Rectifier.",
    "right_correct_detail": "Vous pouvez nous demander de rectifier des informations inexactes : contactez-nous.",
    "right_limit": "Limiter l'usage des informations personnelles sensibles.",
    "right_limit_detail": "Contactez-nous pour limiter leur usage à ce qui est nécessaire pour ce que vous "
    "avez demandé.",
    "right_equal": "Aucune discrimination.",
    "right_equal_detail": "Nous ne vous refuserons ni biens ni services, ne pratiquerons pas d'autre prix et "
    "n'offrirons pas une autre qualité parce que vous avez exercé l'un de ces droits.",
    "verify": "Comment nous vérifions les demandes : pour les données de ce navigateur, son propre cookie "
    "fait preuve, si bien que personne d'autre ne peut les voir ni les supprimer. Pour les autres demandes, "
    "nous comparons ce que vous nous dites à ce que nous détenons, sans demander plus que nécessaire.",
    "h_gpc": "Global Privacy Control",
    "gpc_text": "Nous respectons Global Privacy Control. Lorsque votre navigateur envoie le signal (l'en-tête "
    "Sec-GPC: 1), nous le traitons comme une demande valable d'opposition à la vente et au partage, pour ce "
    "navigateur et, si vous êtes connecté, pour votre compte. Vous n'avez rien d'autre à faire ; nos pages "
    "affichent alors « {honored} ».",
    "gpc_final": "Un choix ultérieur sur ce site ne réactive pas la vente ni le partage.",
    "gpc_lift": "Si vous y consentez de nouveau expressément plus tard sur ce site, nous suivons ce choix plus récent.",
    "h_agents": "Mandataires",
    "agents_text": "Une personne que vous mandatez peut faire ces demandes pour vous. Le mandataire nous "
    "contacte (ci-dessous) avec votre autorisation signée ; nous pouvons vous demander de confirmer votre "
    "identité directement auprès de nous. Un mandataire peut aussi s'opposer pour vous en envoyant Global "
    "Privacy Control ou via la page d'opposition.",
    "h_contact": "Contact",
    "contact_text": "Pour une demande, ou pour toute question sur cet avis, contactez {business} :",
    "contact_email": "E-mail",
    "contact_url": "Formulaire en ligne",
    "contact_phone": "Téléphone",
    "h_more": "Plus d'informations",
    "notice_missing": "L'exploitant de ce site n'a pas publié d'avis de confidentialité ici.",
    "unknown_site": "Ce site n'existe pas ici.",
    "not_found_title": "Introuvable",
    "data_title": "Vos données",
    "data_link": "Vos données : obtenir une copie ou les supprimer",
    "data_intro": "Ce service conserve les choix de confidentialité faits dans ce navigateur pour ce site, "
    "liés au navigateur par un cookie. Ici, vous pouvez en obtenir une copie ou les supprimer.",
    "h_download": "Obtenir une copie",
    "download": "Télécharger une copie de vos données",
    "download_detail": "Un fichier JSON avec vos choix et leur historique.",
    "h_delete": "Supprimer vos données",
    "delete_button": "Supprimer mes données",
    "tombstone": "La suppression de vos données ne conserve que le fait que vous vous êtes opposé à la vente "
    "ou au partage de vos informations personnelles (et tout signal Global Privacy Control), sans aucun autre "
    "détail : le supprimer aussi réactiverait la vente. Les entrées d'audit antérieures ne peuvent plus être "
    "reliées à cet appareil.",
    "deleted": "Vos données ont été supprimées.",
    "nothing_held": "Rien n'est conservé pour ce navigateur : aucun choix de confidentialité n'y est enregistré ici.",
    "other_data": "Cette page ne concerne que l'enregistrement de vos choix. Pour d'autres informations "
    "personnelles, contactez l'exploitant de ce site.",
    "other_data_notice": "Cette page ne concerne que l'enregistrement de vos choix. Pour d'autres "
    "informations personnelles, voir l'avis de confidentialité.",
    "problem_form": "Ce formulaire a expiré ou ne provient pas de cette page. Veuillez appuyer de nouveau sur "
    "le bouton.",
    "problem_store": "Vos données n'ont pas pu être supprimées pour le moment. Veuillez réessayer dans un instant.",
    "problem_opt_out": "Votre opposition n'a pas pu être enregistrée pour le moment. Veuillez appuyer de nouveau sur "
    "le bouton dans un instant.",
    "category_identifiers": "Identifiants",
    "category_customer_records": "Informations des dossiers clients",
    "category_protected_characteristics": "Caractéristiques de catégories protégées",
    "category_commercial": "Informations commerciales",
    "category_biometric": "Informations biométriques",
    "category_internet_activity": "Activité sur Internet ou d'autres réseaux électroniques",
    "category_geolocation": "Données de géolocalisation",
    "category_sensory": "Informations audio, électroniques, visuelles, thermiques, olfactives ou similaires",
    "category_professional": "Informations professionnelles ou liées à l'emploi",
    "category_education": "Informations sur l'éducation",
    "category_inferences": "Déductions servant à établir un profil",
    "category_sensitive": "Informations personnelles sensibles",
    "source_consumer": "Directement auprès de vous",
    "source_device": "Automatiquement depuis votre navigateur ou appareil",
    "source_partners": "Auprès de partenaires publicitaires et de mesure d'audience",
    "source_service_providers": "Auprès de nos prestataires",
    "source_affiliates": "Auprès de sociétés de notre groupe",
    "source_public": "De sources publiques",
    "source_data_brokers": "Auprès de courtiers en données",
}
