// Google tag's consent API, as a site sets it up before any tag: the banner sends its Consent
// Mode "default" and "update" calls through this.
window.dataLayer = window.dataLayer || [];
window.gtag = function gtag() {
  window.dataLayer.push(arguments);
};
