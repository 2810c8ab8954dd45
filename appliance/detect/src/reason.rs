//! The reason given to the subscriber: one or two short sentences built
//! from the strongest tactics, from fixed templates (English and Spanish;
//! any other language falls back to English). Deterministic, and never
//! longer than [`REASON_MAX_CHARS`] characters.

use crate::detector::Assessment;
use crate::tactics::codes::*;

/// The longest reason, in characters (fits the SMS template's space).
pub const REASON_MAX_CHARS: usize = 140;

#[derive(Clone, Copy, PartialEq)]
enum Lang {
    En,
    Es,
}

fn lang(code: &str) -> Lang {
    let primary = code.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    if primary == "es" || primary == "spa" { Lang::Es } else { Lang::En }
}

/// Who the caller claims to be: (English, Spanish).
fn who(code: &str) -> Option<(&'static str, &'static str)> {
    Some(match code {
        IMPERSONATION_BANK => ("your bank", "tu banco"),
        IMPERSONATION_AUTHORITY => ("a government agency", "una autoridad"),
        IMPERSONATION_COMPANY => ("a well-known company", "una empresa conocida"),
        _ => return None,
    })
}

/// What the caller did: (English, Spanish).
fn ask(code: &str, fresh_code: bool) -> Option<(&'static str, &'static str)> {
    Some(match code {
        SECRET_OTP if fresh_code => {
            ("asked for the code we just texted you", "pidió el código que te acabamos de enviar")
        }
        SECRET_OTP => ("asked for a one-time code", "pidió un código de verificación"),
        SECRET_PIN => ("asked for your PIN or password", "pidió tu PIN o contraseña"),
        SECRET_CARD => ("asked for your card details", "pidió los datos de tu tarjeta"),
        SECRET_ID => ("asked for your ID numbers", "pidió tus números de identidad"),
        PAYMENT_GIFT_CARD => ("asked to be paid in gift cards", "pidió pagar con tarjetas regalo"),
        PAYMENT_CRYPTO => ("asked for payment in crypto", "pidió pagar con criptomonedas"),
        PAYMENT_WIRE => ("asked you to move money", "te pidió mover dinero"),
        PAYMENT_COURIER => ("wants to send someone for your money", "quiere enviar a alguien por tu dinero"),
        REMOTE_ACCESS => ("wants control of your computer", "quiere controlar tu ordenador"),
        SECRECY => ("asked you to keep it secret", "te pidió guardar el secreto"),
        PRIZE_OR_REFUND => ("promised a prize or refund", "prometió un premio o reembolso"),
        INVESTMENT => ("promised investment returns", "prometió ganancias de inversión"),
        FAMILY_EMERGENCY => ("said a relative is in trouble", "dijo que un familiar está en apuros"),
        URGENCY_THREAT => ("is threatening you to rush you", "te amenaza para apurarte"),
        CALLBACK_MISMATCH => ("gave a callback number that isn't theirs", "dio un número distinto al suyo"),
        _ => return None,
    })
}

/// Advice after what the caller did: (English, Spanish).
fn advice(ask_code: Option<&str>, who_code: Option<&str>) -> (&'static str, &'static str) {
    match ask_code {
        Some(SECRET_OTP) => match who_code {
            Some(IMPERSONATION_BANK) => ("Your bank will never ask for it.", "Tu banco nunca te lo pedirá."),
            Some(IMPERSONATION_AUTHORITY) => ("No agency will ever ask for it.", "Ninguna autoridad te lo pedirá."),
            Some(IMPERSONATION_COMPANY) => ("No real company will ask for it.", "Ninguna empresa real te lo pedirá."),
            _ => ("Never share it.", "Nunca lo compartas."),
        },
        Some(SECRET_PIN | SECRET_CARD | SECRET_ID) => ("Never give it on the phone.", "Nunca lo des por teléfono."),
        Some(PAYMENT_GIFT_CARD | PAYMENT_CRYPTO) => {
            ("No real company or agency takes this.", "Nadie legítimo cobra así.")
        }
        Some(PAYMENT_WIRE | PAYMENT_COURIER) => ("A real bank never asks this.", "Un banco real nunca lo pide."),
        Some(REMOTE_ACCESS) => ("Hang up and install nothing.", "Cuelga y no instales nada."),
        Some(SECRECY) => ("Talk to someone you trust first.", "Habla antes con alguien de confianza."),
        Some(PRIZE_OR_REFUND) => ("Real prizes never need a fee.", "Un premio real no cobra comisiones."),
        Some(INVESTMENT) => ("Guaranteed returns are a scam sign.", "Las ganancias garantizadas son estafa."),
        Some(FAMILY_EMERGENCY) => ("Call them back on the number you know.", "Llámale al número que ya conoces."),
        _ => ("Hang up and call a number you trust.", "Cuelga y llama a un número de confianza."),
    }
}

/// Requests outrank other tactics when choosing what to say.
fn priority(code: &str) -> u8 {
    match code {
        c if c.starts_with("secret.") => 3,
        c if c.starts_with("payment.") || c == REMOTE_ACCESS => 2,
        _ => 1,
    }
}

/// The reason for an assessment, in `language` (a BCP 47 tag such as
/// `en`, `es-MX`; anything else gives English). Always at most
/// [`REASON_MAX_CHARS`] characters.
pub fn reason(assessment: &Assessment, language: &str) -> String {
    let lang = lang(language);
    let pick = |en: &'static str, es: &'static str| if lang == Lang::Es { es } else { en };
    let who_hit = assessment
        .tactics
        .iter()
        .filter(|h| who(h.code).is_some())
        .max_by(|a, b| a.strength.total_cmp(&b.strength).then(b.turn.cmp(&a.turn)));
    let ask_hit = assessment.tactics.iter().filter(|h| ask(h.code, false).is_some()).max_by(|a, b| {
        (priority(a.code), a.strength)
            .partial_cmp(&(priority(b.code), b.strength))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.turn.cmp(&a.turn))
    });
    let who_code = who_hit.map(|h| h.code);
    let ask_code = ask_hit.map(|h| h.code);
    let who_words = who_code.and_then(who).map(|(en, es)| pick(en, es));
    let ask_words = ask_code.and_then(|c| ask(c, assessment.code_just_sent)).map(|(en, es)| pick(en, es));
    let (adv_en, adv_es) = advice(ask_code, who_code);
    let adv = pick(adv_en, adv_es);
    let text = match (who_words, ask_words) {
        (Some(w), Some(a)) => match lang {
            Lang::En => format!("The caller claims to be {w} and {a}. {adv}"),
            Lang::Es => format!("Quien llama dice ser {w} y {a}. {adv}"),
        },
        (Some(w), None) => match lang {
            Lang::En => format!("The caller claims to be {w}. {adv}"),
            Lang::Es => format!("Quien llama dice ser {w}. {adv}"),
        },
        (None, Some(a)) => match lang {
            Lang::En => format!("The caller {a}. {adv}"),
            Lang::Es => format!("Quien llama {a}. {adv}"),
        },
        (None, None) => pick(
            "This call sounds like a known scam. Hang up and call a number you trust.",
            "Esta llamada parece una estafa conocida. Cuelga y llama a un número de confianza.",
        )
        .to_owned(),
    };
    if text.chars().count() <= REASON_MAX_CHARS {
        text
    } else {
        // Drop the advice; the first sentence alone always fits.
        let first = text.split_inclusive(". ").next().unwrap_or(&text).trim_end().to_owned();
        first.chars().take(REASON_MAX_CHARS).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::Decision;
    use crate::tactics::TacticHit;

    fn assessment(codes: &[&'static str], fresh: bool) -> Assessment {
        Assessment {
            risk: 0.9,
            classifier: 0.9,
            tactics: codes
                .iter()
                .enumerate()
                .map(|(i, c)| TacticHit { code: c, strength: 0.9 - i as f32 * 0.1, turn: i, span: String::new() })
                .collect(),
            safeguards: Vec::new(),
            decision: Decision::None,
            missing: Vec::new(),
            turns: 3,
            code_just_sent: fresh,
        }
    }

    #[test]
    fn the_brief_example() {
        let a = assessment(&[SECRET_OTP, IMPERSONATION_BANK], true);
        assert_eq!(
            reason(&a, "en"),
            "The caller claims to be your bank and asked for the code we just texted you. Your bank will never ask for it."
        );
        assert_eq!(
            reason(&a, "es-MX"),
            "Quien llama dice ser tu banco y pidió el código que te acabamos de enviar. Tu banco nunca te lo pedirá."
        );
        assert_eq!(reason(&a, "fr"), reason(&a, "en"));
    }

    #[test]
    fn every_combination_fits_and_is_deterministic() {
        let all: Vec<&'static str> = TACTICS.to_vec();
        for lang in ["en", "es"] {
            for fresh in [false, true] {
                assert!(reason(&assessment(&[], fresh), lang).chars().count() <= REASON_MAX_CHARS);
                for a in &all {
                    for b in &all {
                        let x = assessment(&[a, b], fresh);
                        let r = reason(&x, lang);
                        assert!(r.chars().count() <= REASON_MAX_CHARS, "{} chars: {r}", r.chars().count());
                        assert!(r.ends_with('.'), "{r}");
                        assert_eq!(r, reason(&x, lang));
                    }
                }
            }
        }
    }

    #[test]
    fn requests_outrank_impersonation_and_threats() {
        let a = assessment(&[URGENCY_THREAT, IMPERSONATION_AUTHORITY, PAYMENT_GIFT_CARD], false);
        assert_eq!(
            reason(&a, "en"),
            "The caller claims to be a government agency and asked to be paid in gift cards. No real company or agency takes this."
        );
    }
}
