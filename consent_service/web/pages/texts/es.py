"""The privacy pages' texts in Spanish."""

from __future__ import annotations

TEXTS = {
    "notice_title": "Aviso de privacidad",
    "languages": "Idioma",
    "last_updated": "Última actualización:",
    "notice_intro": "Este aviso explica qué información personal recopila {business} en este sitio, de dónde "
    "procede, para qué se usa, quién la recibe, si se vende o se comparte, cuánto tiempo se conserva y cómo "
    "ejercer sus derechos de privacidad.",
    "h_collected": "Información personal que recopilamos",
    "col_category": "Categoría",
    "col_sources": "Fuentes",
    "col_used_for": "Se usa para",
    "col_sold": "Se vende o comparte",
    "col_kept": "Se conserva",
    "h_purposes": "Para qué la usamos",
    "col_purpose": "Finalidad",
    "col_information": "Información personal",
    "col_recipients": "Se comunica a",
    "h_recipients": "Quién la recibe",
    "col_recipient": "Destinatarios",
    "sold_yes": "Sí: se vende o comparte",
    "sold_no": "No",
    "none": "Ninguna",
    "days": "{days} días",
    "see_retention": "Vea «Cuánto tiempo la conservamos»",
    "h_sale": "Venta e intercambio",
    "sale_yes": "Vendemos o compartimos información personal, según definen estas palabras las leyes de "
    "privacidad de EE. UU., para estas finalidades: {purposes}.",
    "sale_categories": "Categorías que se venden o comparten: {categories}.",
    "sale_recipients": "Se venden o comparten con: {recipients}.",
    "sale_no": "No vendemos ni compartimos información personal.",
    "under_16_no": "No tenemos conocimiento efectivo de vender o compartir información personal de "
    "consumidores menores de 16 años.",
    "under_16_yes": "Solo vendemos o compartimos información personal de consumidores menores de 16 años con "
    "su autorización expresa (menores de 13, la de un padre, madre o tutor).",
    "h_retention": "Cuánto tiempo la conservamos",
    "retention_service": "Registros de sus opciones de privacidad, conservados por nuestro servicio de consentimiento:",
    "keep_opt_out": "Una exclusión de la venta o el intercambio: {days} días después de su última visita. "
    "Cada visita la renueva, así que no caduca mientras siga volviendo.",
    "keep_consent": "Un consentimiento que usted da: {days} días; después volvemos a preguntar.",
    "keep_record": "Otros registros de sus opciones, incluida una señal Global Privacy Control: {days} días "
    "después de su última visita.",
    "keep_history": "El historial de sus opciones y nuestro registro de solicitudes de privacidad: {days} días.",
    "h_rights": "Sus derechos",
    "right_opt_out": "Excluirse de la venta y el intercambio.",
    "right_opt_out_detail": "En un paso, sin cuenta ni inicio de sesión:",
    "account_wide": "Cuando ha iniciado sesión, su exclusión también se aplica a su cuenta, en cada "
    "dispositivo en el que inicie sesión.",
    "right_know": "Saber y obtener una copia.",
    "right_know_detail": "Puede preguntar qué información personal tenemos sobre usted, de dónde procede, para "
    "qué la usamos y quién la recibe. Lo que se conserva sobre este navegador está aquí:",
    "right_delete": "Eliminar.",
    "right_delete_detail": "Puede pedirnos que eliminemos su información personal. Para los datos de este "
    "navegador, use la misma página; para todo lo demás, contáctenos.",
    "right_correct": "Corregir.",
    "right_correct_detail": "Puede pedirnos que corrijamos información personal inexacta: contáctenos.",
    "right_limit": "Limitar el uso de información personal sensible.",
    "right_limit_detail": "Contáctenos para limitar su uso a lo necesario para lo que usted ha pedido.",
    "right_equal": "Sin discriminación.",
    "right_equal_detail": "No le negaremos bienes ni servicios, ni le cobraremos un precio distinto, ni le "
    "daremos otra calidad de servicio por ejercer cualquiera de estos derechos.",
    "verify": "Cómo verificamos las solicitudes: para los datos de este navegador, su propia cookie es la "
    "prueba, así que nadie más puede verlos ni eliminarlos. Para otras solicitudes comparamos lo que nos dice "
    "con lo que tenemos, sin pedir más de lo necesario.",
    "h_gpc": "Global Privacy Control",
    "gpc_text": "Respetamos Global Privacy Control. Cuando su navegador envía la señal (la cabecera "
    "Sec-GPC: 1), la tratamos como una solicitud válida de exclusión de la venta y el intercambio, para este "
    "navegador y, si ha iniciado sesión, para su cuenta. No necesita hacer nada más; nuestras páginas "
    "muestran entonces «{honored}».",
    "gpc_final": "Una elección posterior en este sitio no vuelve a activar la venta ni el intercambio.",
    "gpc_lift": "Si más tarde vuelve a dar su consentimiento expreso en este sitio, seguimos esa elección más "
    "reciente.",
    "h_agents": "Agentes autorizados",
    "agents_text": "Una persona que usted autorice puede hacer estas solicitudes por usted. El agente nos "
    "contacta (abajo) con su permiso firmado; podemos pedirle que confirme su identidad directamente con "
    "nosotros. Un agente también puede excluirle enviando Global Privacy Control o mediante la página de "
    "exclusión.",
    "h_contact": "Contacto",
    "contact_text": "Para una solicitud, o con preguntas sobre este aviso, contacte con {business}:",
    "contact_email": "Correo electrónico",
    "contact_url": "Formulario web",
    "contact_phone": "Teléfono",
    "h_more": "Más información",
    "notice_missing": "El operador de este sitio no ha publicado aquí un aviso de privacidad.",
    "unknown_site": "Este sitio no existe aquí.",
    "not_found_title": "No encontrado",
    "data_title": "Sus datos",
    "data_link": "Sus datos: obtener una copia o eliminarlos",
    "data_intro": "Este servicio guarda las opciones de privacidad elegidas en este navegador para este sitio, "
    "vinculadas al navegador mediante una cookie. Aquí puede obtener una copia o eliminarlas.",
    "h_download": "Obtener una copia",
    "download": "Descargar una copia de sus datos",
    "download_detail": "Un archivo JSON con sus opciones y su historial.",
    "h_delete": "Eliminar sus datos",
    "delete_button": "Eliminar mis datos",
    "tombstone": "Al eliminar sus datos solo conservamos el hecho de que se excluyó de la venta o el "
    "intercambio de su información personal (y cualquier señal Global Privacy Control), sin ningún otro "
    "detalle: eliminarlo también volvería a activar la venta. Las entradas de auditoría anteriores ya no "
    "pueden vincularse a este dispositivo.",
    "deleted": "Sus datos se han eliminado.",
    "nothing_held": "No se conserva nada para este navegador: no tiene opciones de privacidad registradas aquí.",
    "other_data": "Esta página solo trata del registro de sus opciones de privacidad. Para otra información "
    "personal, contacte con el operador de este sitio.",
    "other_data_notice": "Esta página solo trata del registro de sus opciones de privacidad. Para otra "
    "información personal, vea el aviso de privacidad.",
    "problem_form": "Este formulario ha caducado o no procede de esta página. Pulse el botón de nuevo.",
    "problem_store": "Sus datos no se han podido eliminar ahora. Inténtelo de nuevo en un momento.",
    "problem_opt_out": "Su exclusión no se ha podido registrar ahora. Pulse el botón de nuevo en un momento.",
    "category_identifiers": "Identificadores",
    "category_customer_records": "Información de registros de clientes",
    "category_protected_characteristics": "Características de clasificaciones protegidas",
    "category_commercial": "Información comercial",
    "category_biometric": "Información biométrica",
    "category_internet_activity": "Actividad en Internet u otras redes electrónicas",
    "category_geolocation": "Datos de geolocalización",
    "category_sensory": "Información de audio, electrónica, visual, térmica, olfativa o similar",
    "category_professional": "Información profesional o laboral",
    "category_education": "Información educativa",
    "category_inferences": "Inferencias para crear un perfil",
    "category_sensitive": "Información personal sensible",
    "source_consumer": "Directamente de usted",
    "source_device": "Automáticamente de su navegador o dispositivo",
    "source_partners": "De socios de publicidad y analítica",
    "source_service_providers": "De nuestros proveedores de servicios",
    "source_affiliates": "De empresas de nuestro grupo",
    "source_public": "De fuentes públicas",
    "source_data_brokers": "De intermediarios de datos",
}
