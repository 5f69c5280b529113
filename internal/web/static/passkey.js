// carepost passkeys: the browser half of the WebAuthn ceremonies (W3C Web
// Authentication Level 3). The server sends PublicKeyCredentialCreation- or
// RequestOptions as JSON with binary members in base64url (section 5.4,
// 5.5); this script turns them into ArrayBuffers, calls
// navigator.credentials.create() or .get(), and posts the credential back
// with its binary members in base64url again (section 5.1). No third-party
// code. Without JavaScript, or without WebAuthn in the browser, the passkey
// controls stay hidden and the pages work as before.
//
// A control is an element with data-passkey="register", "login" or
// "reauth" (a login that also sends input#passkey-password),
// data-begin and data-finish (endpoints), data-csrf (sent as X-CSRF-Token)
// and data-next (where to go after); inside it a button, an optional
// input#passkey-name, a [data-passkey-status] line and, for registration,
// a [data-passkey-codes] section where recovery codes are shown once.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function decode(s) {
    var b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) {
      out[i] = b.charCodeAt(i);
    }
    return out.buffer;
  }

  function encode(buf) {
    var bytes = new Uint8Array(buf), b = "";
    for (var i = 0; i < bytes.length; i++) {
      b += String.fromCharCode(bytes[i]);
    }
    return btoa(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function ids(list) {
    (list || []).forEach(function (c) { c.id = decode(c.id); });
  }

  function creationOptions(o) {
    var pk = o.publicKey;
    pk.challenge = decode(pk.challenge);
    pk.user.id = decode(pk.user.id);
    ids(pk.excludeCredentials);
    return { publicKey: pk };
  }

  function requestOptions(o) {
    var pk = o.publicKey;
    pk.challenge = decode(pk.challenge);
    ids(pk.allowCredentials);
    return { publicKey: pk };
  }

  function credentialJSON(cred) {
    var r = cred.response;
    var out = {
      id: cred.id, rawId: encode(cred.rawId), type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: encode(r.clientDataJSON) }
    };
    if (cred.authenticatorAttachment) {
      out.authenticatorAttachment = cred.authenticatorAttachment;
    }
    if (r.attestationObject) {
      out.response.attestationObject = encode(r.attestationObject);
      if (r.getTransports) {
        out.response.transports = r.getTransports();
      }
    } else {
      out.response.authenticatorData = encode(r.authenticatorData);
      out.response.signature = encode(r.signature);
      if (r.userHandle) {
        out.response.userHandle = encode(r.userHandle);
      }
    }
    return out;
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) {
          if (res.status === 401 && res.headers.get("Location")) {
            window.location.assign(res.headers.get("Location"));
          }
          throw new Error((data.error && data.error.message) || "The passkey could not be used. Try again.");
        }
        return data;
      });
    });
  }

  function showCodes(el, codes) {
    var section = el.querySelector("[data-passkey-codes]");
    if (!section || !codes || !codes.length) {
      return false;
    }
    var list = section.querySelector("ul");
    codes.forEach(function (c) {
      var li = document.createElement("li"), code = document.createElement("code");
      code.textContent = c;
      li.appendChild(code);
      list.appendChild(li);
    });
    section.hidden = false;
    section.querySelector("a").focus();
    return true;
  }

  function run(el, button, status) {
    var register = el.dataset.passkey === "register", csrf = el.dataset.csrf;
    var nameInput = el.querySelector("#passkey-name"), pwInput = el.querySelector("#passkey-password");
    button.disabled = true;
    status.textContent = "Follow your browser's prompt…";
    post(el.dataset.begin, csrf).then(function (options) {
      return register ? navigator.credentials.create(creationOptions(options))
        : navigator.credentials.get(requestOptions(options));
    }).then(function (cred) {
      var body = { credential: credentialJSON(cred) };
      if (register) {
        body.name = nameInput ? nameInput.value : "";
      }
      if (pwInput) {
        body.password = pwInput.value;
      }
      return post(el.dataset.finish, csrf, body);
    }).then(function (data) {
      status.textContent = register ? "Passkey added." : "Confirmed.";
      if (!showCodes(el, data.recovery_codes)) {
        window.location.assign(el.dataset.next);
      }
    }).catch(function (err) {
      button.disabled = false;
      status.textContent = err && err.name === "NotAllowedError"
        ? "The passkey prompt was closed or timed out. Try again." : err.message;
    });
  }

  document.querySelectorAll("[data-passkey]").forEach(function (el) {
    var button = el.querySelector("button"), status = el.querySelector("[data-passkey-status]");
    el.hidden = false;
    button.addEventListener("click", function () { run(el, button, status); });
  });
})();
