// The walk of an inspection on the phone: every form marked data-locate gets the phone's
// position in its hidden lon / lat / crs fields (asked once when the page opens, again when a
// form is about to be sent without it). Without a position the forms still work.
import { gettext, locate } from "../mobile/common.js";

const forms = Array.from(document.querySelectorAll("form[data-locate]"));
const status = document.getElementById("locate-status");
let here = null;

function fill(form) {
  if (!here) return;
  for (const k of ["lon", "lat", "crs"]) {
    const input = form.querySelector(`input[name=${k}]`);
    if (input) input.value = here[k];
  }
}

function ask() {
  locate((p) => {
    here = p;
    forms.forEach(fill);
    if (status) status.textContent = gettext("已获取当前位置");
  }, (msg) => { if (status) status.textContent = msg; });
}

if (forms.length) {
  ask();
  forms.forEach((f) => f.addEventListener("submit", () => fill(f)));
}
