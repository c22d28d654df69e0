// Passkey ceremonies (A6) for the button marked id="passkey-button":
//   data-ceremony="get"    sign in or step up with a passkey (navigator.credentials.get)
//   data-ceremony="create" register a new passkey (navigator.credentials.create)
// The server sends WebAuthn options as JSON (binary fields base64url-encoded, as py_webauthn
// writes them); the answer goes back as JSON the same way, inside {"credential": ...}.
// A file of its own, loaded as a module: the pages' Content-Security-Policy allows no inline
// script.

const button = document.getElementById("passkey-button");
const statusLine = document.getElementById("passkey-status");

function toBytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function toBase64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function csrfToken() {
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  return field ? field.value : "";
}

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body || {}),
  });
  const data = await response.json().catch(() => ({}));
  return { ok: response.ok, data };
}

function creationOptions(options) {
  return {
    ...options,
    challenge: toBytes(options.challenge),
    user: { ...options.user, id: toBytes(options.user.id) },
    excludeCredentials: (options.excludeCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) })),
  };
}

function requestOptions(options) {
  return {
    ...options,
    challenge: toBytes(options.challenge),
    allowCredentials: (options.allowCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) })),
  };
}

function credentialJson(credential) {
  const response = credential.response;
  const json = {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    clientExtensionResults: credential.getClientExtensionResults(),
    response: { clientDataJSON: toBase64url(response.clientDataJSON) },
  };
  if (response.attestationObject) {
    json.response.attestationObject = toBase64url(response.attestationObject);
    json.response.transports = response.getTransports ? response.getTransports() : [];
  } else {
    json.response.authenticatorData = toBase64url(response.authenticatorData);
    json.response.signature = toBase64url(response.signature);
    if (response.userHandle) json.response.userHandle = toBase64url(response.userHandle);
  }
  return json;
}

function say(message) {
  statusLine.textContent = message;
  statusLine.hidden = false;
}

function showRecoveryCodes(codes, next) {
  const section = document.getElementById("passkey-recovery-codes");
  const list = section.querySelector("ol");
  for (const code of codes) {
    const item = document.createElement("li");
    item.textContent = code;
    list.append(item);
  }
  section.querySelector("a").href = next;
  section.hidden = false;
  button.hidden = true;
}

async function ceremony() {
  button.disabled = true;
  statusLine.hidden = true;
  try {
    const creating = button.dataset.ceremony === "create";
    const begun = await post(button.dataset.optionsUrl);
    if (!begun.ok) {
      say(begun.data.detail || "Passkeys are not available right now.");
      if (begun.data.redirect) window.location.assign(begun.data.redirect);
      return;
    }
    const credential = creating
      ? await navigator.credentials.create({ publicKey: creationOptions(begun.data) })
      : await navigator.credentials.get({ publicKey: requestOptions(begun.data) });
    const nameField = document.getElementById("id_passkey_name");
    const finished = await post(button.dataset.verifyUrl, {
      credential: credentialJson(credential),
      name: nameField ? nameField.value : "",
    });
    if (!finished.ok) {
      say(finished.data.detail || "The passkey could not be verified.");
      if (finished.data.redirect) window.location.assign(finished.data.redirect);
      return;
    }
    if (finished.data.recovery_codes) {
      showRecoveryCodes(finished.data.recovery_codes, finished.data.redirect);
      return;
    }
    window.location.assign(finished.data.redirect);
  } catch (error) {
    // The person cancelled, or no authenticator answered.
    say("No passkey was used. Try again, or choose another method.");
  } finally {
    button.disabled = false;
  }
}

if (button && window.PublicKeyCredential) {
  button.addEventListener("click", ceremony);
} else if (button) {
  button.hidden = true;
}
