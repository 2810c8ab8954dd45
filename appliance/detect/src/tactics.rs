//! Tactic detectors: rules over normalized tokens, with evidence.
//!
//! Each rule has a tactic code (the identifier the appliance stores), a
//! strength in (0, 1] and token patterns (see [`crate::pattern`]). Rules fire
//! on what the **caller** says; the subscriber (callee) saying "I will never
//! give my PIN" is not evidence. What the callee says is only used as context
//! (e.g. "I just got a text with a code").
//!
//! Negation: a rule marked negatable does not fire when `never`, `not`, `no`
//! or `nobody` comes in the three tokens before its match. A negated request
//! for a secret ("we will never ask for your code", "do not share this code")
//! becomes a safeguard instead.
//!
//! Safeguards (codes starting with `safe.`) are legitimate patterns that
//! lower risk: a caller who says it will never ask for codes, tells you to
//! hang up and call the number on the back of your card, says no payment is
//! needed, or is an appointment or pickup reminder.
//!
//! Compound evidence computed here rather than by single patterns:
//! - `secret.otp` is raised to 0.95 when the call has a "code just sent"
//!   context (the caller says it sent or texted a code, or the callee says
//!   they just got one), and any request for "the numbers" then counts;
//! - DTMF digits keyed in after a request for a secret raise that secret;
//! - `callback_mismatch` fires when the caller gives a callback number that
//!   differs from the caller ID (only when the caller ID is known).

use std::sync::OnceLock;

use crate::pattern::Pattern;
use crate::text::digit_runs;

/// Tactic codes, as the appliance stores them.
pub mod codes {
    /// Claims to be a bank or card issuer.
    pub const IMPERSONATION_BANK: &str = "impersonation.bank";
    /// Claims to be tax, police, courts, government benefits.
    pub const IMPERSONATION_AUTHORITY: &str = "impersonation.authority";
    /// Claims to be a known company (Amazon, Microsoft, Apple, a utility, the operator).
    pub const IMPERSONATION_COMPANY: &str = "impersonation.company";
    /// Threats and deadlines: arrest, disconnection, account closure, "right now".
    pub const URGENCY_THREAT: &str = "urgency.threat";
    /// Payment by gift cards.
    pub const PAYMENT_GIFT_CARD: &str = "payment.gift_card";
    /// Payment in cryptocurrency.
    pub const PAYMENT_CRYPTO: &str = "payment.crypto";
    /// Wire or transfer to a "safe account", money apps, money transfer services.
    pub const PAYMENT_WIRE: &str = "payment.wire";
    /// Cash or cards picked up by a courier.
    pub const PAYMENT_COURIER: &str = "payment.courier";
    /// A request for a one-time code.
    pub const SECRET_OTP: &str = "secret.otp";
    /// A request for a PIN or password.
    pub const SECRET_PIN: &str = "secret.pin";
    /// A request for card or account numbers.
    pub const SECRET_CARD: &str = "secret.card";
    /// A request for identity numbers (social security number...).
    pub const SECRET_ID: &str = "secret.id";
    /// Remote-access software or control of the computer.
    pub const REMOTE_ACCESS: &str = "remote_access";
    /// "Don't tell your bank / family".
    pub const SECRECY: &str = "secrecy";
    /// Prizes, refunds, fees up front.
    pub const PRIZE_OR_REFUND: &str = "prize_or_refund";
    /// A relative in trouble, "new number".
    pub const FAMILY_EMERGENCY: &str = "family_emergency";
    /// Investment returns.
    pub const INVESTMENT: &str = "investment";
    /// A callback number that differs from the caller ID.
    pub const CALLBACK_MISMATCH: &str = "callback_mismatch";
    /// Safeguard: the caller says it will never ask for codes or PINs.
    pub const SAFE_NEVER_ASK: &str = "safe.never_ask";
    /// Safeguard: the caller tells you to call back on an official number.
    pub const SAFE_CALL_OFFICIAL: &str = "safe.call_official";
    /// Safeguard: the caller says no payment or action is needed.
    pub const SAFE_NO_PAYMENT: &str = "safe.no_payment";
    /// Safeguard: an appointment, delivery or pickup reminder.
    pub const SAFE_REMINDER: &str = "safe.reminder";

    /// Every scam tactic code, in a fixed order (used for features).
    pub const TACTICS: [&str; 18] = [
        IMPERSONATION_BANK,
        IMPERSONATION_AUTHORITY,
        IMPERSONATION_COMPANY,
        URGENCY_THREAT,
        PAYMENT_GIFT_CARD,
        PAYMENT_CRYPTO,
        PAYMENT_WIRE,
        PAYMENT_COURIER,
        SECRET_OTP,
        SECRET_PIN,
        SECRET_CARD,
        SECRET_ID,
        REMOTE_ACCESS,
        SECRECY,
        PRIZE_OR_REFUND,
        FAMILY_EMERGENCY,
        INVESTMENT,
        CALLBACK_MISMATCH,
    ];
    /// Every safeguard code, in a fixed order.
    pub const SAFEGUARDS: [&str; 4] = [SAFE_NEVER_ASK, SAFE_CALL_OFFICIAL, SAFE_NO_PAYMENT, SAFE_REMINDER];
}

use codes::*;

/// One piece of evidence: a tactic (or safeguard) found in an utterance.
#[derive(Clone, PartialEq, serde::Serialize)]
pub struct TacticHit {
    /// The tactic code, e.g. `secret.otp`.
    pub code: &'static str,
    /// How strongly this evidence points to the tactic, in (0, 1].
    pub strength: f32,
    /// Index of the utterance (turn) in the call, from 0.
    pub turn: usize,
    /// The matched words, normalized, at most about eight of them.
    pub span: String,
}

impl std::fmt::Debug for TacticHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TacticHit")
            .field("code", &self.code)
            .field("strength", &self.strength)
            .field("turn", &self.turn)
            .field("span", &format_args!("<{} chars>", self.span.chars().count()))
            .finish()
    }
}

impl zeroize::Zeroize for TacticHit {
    fn zeroize(&mut self) {
        self.span.zeroize();
    }
}

const NEGATABLE: u8 = 1;
/// The rule needs the "code just sent" context.
const NEEDS_CODE_CONTEXT: u8 = 2;

struct RuleDef {
    code: &'static str,
    strength: f32,
    flags: u8,
    patterns: &'static [&'static str],
}

macro_rules! rule {
    ($code:expr, $strength:expr, $flags:expr, [$($p:expr),+ $(,)?]) => {
        RuleDef { code: $code, strength: $strength, flags: $flags, patterns: &[$($p),+] }
    };
}

fn rule_defs() -> Vec<RuleDef> {
    vec![
        // --- impersonation -------------------------------------------------
        rule!(
            IMPERSONATION_BANK,
            0.45,
            0,
            [
                "fraud department|team|prevention|unit|division|protection",
                "security department|team of|_ your bank",
                "from|at|with your|_ bank",
                "bank of america",
                "wells fargo",
                "chase bank|card",
                "citibank|citi",
                "capital one",
                "barclays|hsbc|santander",
                "card member|holder services",
                "cardmember services",
                "member services",
                "credit card department|company|services|center",
                "visa|mastercard security|department|fraud",
                "your debit|credit card has|was|is .. compromised|used|charged|blocked",
                "unauthorized|suspicious charge*|transaction*|activity|purchase*",
            ]
        ),
        rule!(
            IMPERSONATION_AUTHORITY,
            0.5,
            0,
            [
                "irs",
                "i r s",
                "internal revenue",
                "tax department|office|authority|agency",
                "social security administration|office|department",
                "your social security number has|is|was|will .. suspend*|block*|compromis*|cancel*|frozen",
                "your social has|is|was|will .. suspend*|block*|compromis*|cancel*",
                "police|sheriff|constable",
                "police|federal|enforcement officer",
                "officer badge|number",
                "fbi|dea|ftc|fda",
                "department of justice|treasury|homeland",
                "us marshal*",
                "federal agent",
                "legal department",
                "court",
                "warrant",
                "immigration",
                "customs and|_ border",
                "medicare department|office",
                "government grant",
                "federal student loan*",
                "federal government",
                "attorney general",
            ]
        ),
        rule!(
            IMPERSONATION_COMPANY,
            0.45,
            0,
            [
                "amazon",
                "microsoft",
                "windows support|technician|department|security|defender",
                "apple support|care|id|security",
                "calling from apple",
                "icloud",
                "geek squad",
                "paypal",
                "pay pal",
                "norton|mcafee",
                "netflix",
                "comcast|xfinity|verizon|spectrum",
                "tech* support|department",
                "technical support|department|team",
                "electric company",
                "power and light",
                "gas company",
                "utility company",
                "disconnection department",
                "your internet|phone|cable provider|company|service",
                "vehicle service department",
                "warranty department",
                "customer service department",
                "customer support team",
            ]
        ),
        // --- urgency and threats -------------------------------------------
        rule!(
            URGENCY_THREAT,
            0.6,
            NEGATABLE,
            [
                "arrest*",
                "warrant",
                "jail|prison",
                "lawsuit",
                "legal action|proceeding*",
                "sue you",
                "be prosecuted",
                "disconnect*",
                "shut off|down",
                "cut off",
                "suspend* your|_ social|account|service|number|license",
                "account|card will|is|has .. be|been closed|blocked|frozen|locked|terminated|cancelled|canceled",
                "freeze|seize your",
                "deport*",
                "legal consequences",
                "penalt*",
                "criminal charge*",
            ]
        ),
        rule!(
            URGENCY_THREAT,
            0.35,
            NEGATABLE,
            [
                "final notice|warning|attempt|courtesy|reminder",
                "last chance|notice|warning",
                "immediately",
                "right away",
                "time sensitive",
                "urgent*",
                "within * minutes|hours",
                "before the end of the day",
                "as soon as possible",
                "expire* today",
                "do not hang up",
                "stay on the line",
            ]
        ),
        // --- payment -------------------------------------------------------
        rule!(PAYMENT_GIFT_CARD, 0.5, NEGATABLE, ["gift card*"]),
        rule!(
            PAYMENT_GIFT_CARD,
            0.85,
            NEGATABLE,
            [
                "pay|payment|paid|buy|purchase|pick up|settle|clear .. gift card*",
                "gift card* .. number*|code*|pin|scratch|read|back|picture*|photo*|store|stores",
                "google play",
                "itunes",
                "i tunes",
                "apple card* from the store",
                "steam card*",
                "target|walmart|ebay|amazon|sephora|visa|prepaid card* .. store|pharmacy|walgreens|cvs",
                "scratch .. back of the|each card*",
                "numbers on the back of the|each card*",
                "prepaid card*|visa",
                "green dot",
                "vanilla card*|visa",
            ]
        ),
        rule!(
            PAYMENT_CRYPTO,
            0.75,
            NEGATABLE,
            [
                "bitcoin*|bit coin*|btc",
                "crypto*",
                "ethereum|usdt|tether|coinbase|binance",
                "bitcoin atm|machine",
                "wallet address",
                "qr code",
            ]
        ),
        rule!(
            PAYMENT_WIRE,
            0.75,
            NEGATABLE,
            [
                "safe|secure|protected|holding account",
                "move|transfer|wire .. money|funds|savings|balance",
                "western union",
                "moneygram",
                "money gram",
                "wire transfer",
                "withdraw .. cash|money|funds",
            ]
        ),
        rule!(PAYMENT_WIRE, 0.45, NEGATABLE, ["zelle|venmo|cashapp", "cash app", "send .. money|payment to"]),
        rule!(
            PAYMENT_COURIER,
            0.75,
            NEGATABLE,
            [
                "courier .. pick|collect|cash|money|card*|envelope",
                "send|sending a|_ courier",
                "pick up the|your cash|money|card*|envelope",
                "send someone to .. collect|pick|get",
                "put|place the cash|money in an|a envelope|box",
            ]
        ),
        rule!(PAYMENT_WIRE, 0.3, NEGATABLE, ["pay|payment .. fee|fine|tax*|bail", "process* fee", "release fee"]),
        // --- secrets (requests) --------------------------------------------
        rule!(
            SECRET_OTP,
            0.7,
            NEGATABLE,
            [
                "read|tell|give|provide|confirm|verify|share|need|want|ask|repeat|say|enter|type .. verification|authentication|authorization|confirmation|otp|sms|text code*|number|pin",
                "read|tell|give|provide|confirm|verify|share|need|want|ask|repeat|say|enter|type .. security code",
                "read|tell|give|provide|confirm|verify|share|need|want|ask|repeat|say|enter|type .. one time pass*|pin|code|password",
                "read|tell|give|provide|confirm|verify|share|need|want|ask|repeat|say|enter|type .. digit code|pin|passcode",
                "read|tell|give|provide|confirm|verify|share|need|want|ask|repeat|say|enter|type .. otp|passcode*",
                "what is|was .. verification|otp|passcode|code",
                "what is|was .. one time",
                "code|passcode|otp .. read|tell|give|provide|confirm|repeat|say it|that",
                "read|tell|give|confirm|repeat|say .. the|that code",
            ]
        ),
        rule!(
            SECRET_OTP,
            0.9,
            NEGATABLE | NEEDS_CODE_CONTEXT,
            [
                "read|repeat .. it|them|number*|digits|code",
                "tell|give|provide|confirm|verify|share|enter .. the|those|these|that six|6|four|4|_ digits|numbers|code",
                "what are|were the|those digits|numbers",
                "what does|did it|the text|message say",
            ]
        ),
        rule!(
            SECRET_PIN,
            0.7,
            NEGATABLE,
            [
                "read|tell|give|provide|confirm|verify|share|need|want|ask|repeat|say|enter|type|what .. pin|password|passcode|login|username|passwords",
                "mother maiden|maidens name",
                "security question*",
            ]
        ),
        rule!(
            SECRET_CARD,
            0.6,
            NEGATABLE,
            [
                "read|tell|give|provide|confirm|verify|share|need|want|ask|repeat|say|what .. card|account|routing number*",
                "read|tell|give|provide|confirm|verify|share|need|want|ask|repeat|say|what .. expiration|expiry|cvv|cvc",
                "read|tell|give|provide|confirm|verify|share|need|want|ask|repeat|say|what .. three|3 digits",
                "long number on the front",
                "digits on the back",
                "16|sixteen digit*",
            ]
        ),
        rule!(
            SECRET_ID,
            0.55,
            NEGATABLE,
            [
                "read|tell|give|provide|confirm|verify|share|need|want|ask|repeat|say|what .. social security number",
                "read|tell|give|provide|confirm|verify|what .. ssn",
                "read|tell|give|provide|confirm|verify|need|want|what .. last four|4 of|digits your|the|_ social",
                "read|tell|give|provide|confirm|verify|need|want|what .. driver|drivers license|licence",
                "read|tell|give|provide|confirm|verify|need|want|what .. passport|medicare number",
                "read|tell|give|provide|confirm|verify|what .. tax id",
            ]
        ),
        // --- remote access -------------------------------------------------
        rule!(
            REMOTE_ACCESS,
            0.8,
            NEGATABLE,
            [
                "anydesk|anydisk|teamviewer|ultraviewer|supremo|rustdesk|screenconnect",
                "any desk|disk",
                "team viewer",
                "log me in",
                "logmein",
                "quick assist",
                "remote access|desktop|control|support|session|connection|software",
                "access|connect|control .. your computer|pc|laptop|screen|device",
                "screen shar*|sharing",
                "windows key",
                "event viewer",
                "run box|command",
            ]
        ),
        rule!(REMOTE_ACCESS, 0.5, NEGATABLE, ["download|install .. app|application|software|program|tool"]),
        rule!(
            REMOTE_ACCESS,
            0.35,
            NEGATABLE,
            ["in front of your|the computer", "turn on your computer", "go to your computer"]
        ),
        // --- secrecy -------------------------------------------------------
        rule!(
            SECRECY,
            0.75,
            0,
            [
                "not|never tell|inform|mention|discuss .. anyone|anybody|bank|family|teller|manager|husband|wife|son|daughter|children|kids|mom|dad|mother|father|police|parents|friends",
                "not|never talk|speak to .. anyone|anybody|bank|family|teller|manager|police",
                "keep this|it .. confidential|secret|private",
                "keep .. between us",
                "confidential investigation|case|matter",
                "gag order",
                "bank|teller|staff|employees .. involved",
                "bank|teller|staff|employees .. under investigation",
                "if .. teller|bank|they|anyone .. ask* .. say|tell",
                "between you and me|us",
                "our little secret",
                "nobody can know",
            ]
        ),
        // --- prizes, refunds, fees -----------------------------------------
        rule!(
            PRIZE_OR_REFUND,
            0.6,
            NEGATABLE,
            [
                "you have|_ won",
                "winner",
                "prize",
                "sweepstake*",
                "lottery|jackpot",
                "you are|have been|_ selected|chosen",
                "free cruise|vacation|upgrade|trip|gift|iphone",
                "claim your",
                "processing|release|delivery|shipping fee",
                "pay .. taxes|tax|fee .. release|receive|claim|collect",
            ]
        ),
        rule!(
            PRIZE_OR_REFUND,
            0.45,
            NEGATABLE,
            [
                "refund*",
                "reimburs*",
                "overcharg*",
                "over charg*",
                "eligible for",
                "loan forgiveness",
                "lower your interest|rate",
                "reduce your|the .. debt|interest",
                "grant",
            ]
        ),
        // --- family emergency ----------------------------------------------
        rule!(
            FAMILY_EMERGENCY,
            0.7,
            NEGATABLE,
            [
                "bail",
                "new number|phone",
                "changed|lost|broke my number|phone",
                "in jail",
                "been arrested",
                "car accident",
                "need money .. lawyer|attorney|hospital|bail",
                "please do not tell mom|dad|mum|grandpa|grandma",
            ]
        ),
        rule!(
            FAMILY_EMERGENCY,
            0.35,
            NEGATABLE,
            [
                "grandma|grandpa|granny|grandmother|grandfather|nana",
                "it is me",
                "your grandson|granddaughter|nephew|niece",
                "in trouble",
                "hospital",
                "lawyer|attorney",
            ]
        ),
        // --- investment ----------------------------------------------------
        rule!(
            INVESTMENT,
            0.6,
            NEGATABLE,
            [
                "invest|investing|investment|investments|investor|investors",
                "guaranteed .. return*|profit*|income",
                "double|triple your money",
                "trading platform|account|bot",
                "forex",
                "return*|profit* .. percent",
                "return*|profit* .. per|a|every week|month|day",
                "risk free",
                "passive income",
            ]
        ),
        // --- safeguards ----------------------------------------------------
        rule!(
            SAFE_CALL_OFFICIAL,
            0.7,
            0,
            [
                "number on the back of your|the card",
                "back of your card",
                "hang up and call",
                "call .. number on .. statement|website|card",
                "call us|back .. official|directly",
                "log in|into .. app|website .. yourself|directly",
                "visit|come .. branch",
            ]
        ),
        rule!(
            SAFE_NEVER_ASK,
            0.7,
            0,
            [
                "never ask|call .. for|you .. code|pin|password|passcode|card|account|social|gift|payment|money|personal",
                "never ask for it",
                "not|never share .. code|pin|password|it|this",
                "nobody|noone .. should|will ask",
                "no one .. should|will ask",
                "we|bank|they will not|never ask",
            ]
        ),
        rule!(
            SAFE_NO_PAYMENT,
            0.5,
            0,
            [
                "no payment|charge|fee|cost",
                "free of charge",
                "not need|have to pay",
                "no action .. needed|required|necessary",
                "nothing to pay",
                "nothing you need to do",
                "you do not owe",
            ]
        ),
        rule!(
            SAFE_REMINDER,
            0.35,
            0,
            [
                "appointment",
                "prescription",
                "refill",
                "ready for pick|pickup",
                "reminder|reminding .. appointment|visit|pickup",
                "your delivery|package .. tomorrow|today|between",
                "reschedul*",
                "survey",
            ]
        ),
    ]
}

struct Rule {
    code: &'static str,
    strength: f32,
    flags: u8,
    patterns: Vec<Pattern>,
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        rule_defs()
            .into_iter()
            .map(|d| Rule {
                code: d.code,
                strength: d.strength,
                flags: d.flags,
                patterns: d.patterns.iter().map(|p| Pattern::compile(p)).collect(),
            })
            .collect()
    })
}

fn context_patterns() -> &'static [Pattern] {
    static CONTEXT: OnceLock<Vec<Pattern>> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        [
            "sent|texted|send|sending|text you|_ .. code|text|message|sms|verification|otp",
            "sent|texted|send|sending|text you|_ .. one time",
            "code|text|message .. sent|texted|received|got",
            "just|now|already received|got .. code|text|message",
            "did you get|receive .. code|text|message",
            "i just|_ got|received|have .. a|the|_ text|code|message",
            "code on your phone|screen",
        ]
        .iter()
        .map(|p| Pattern::compile(p))
        .collect()
    })
}

fn callback_pattern() -> &'static Pattern {
    static P: OnceLock<Pattern> = OnceLock::new();
    P.get_or_init(|| Pattern::compile("call|reach|contact|dial|callback .. us|back|me|number|at|on"))
}

/// Whether the match starting at `start` is negated: "not"/"no" in the two
/// tokens before it, or "never"/"nobody" in the six before it ("we will
/// never ask you to buy gift cards"). The short window for "not" keeps "if
/// you do not pay we will arrest you" a threat.
fn is_negated(tokens: &[String], start: usize) -> bool {
    let near = &tokens[start.saturating_sub(2)..start];
    let wide = &tokens[start.saturating_sub(6)..start];
    near.iter().any(|t| matches!(t.as_str(), "not" | "no" | "neither" | "nor"))
        || wide.iter().any(|t| matches!(t.as_str(), "never" | "nobody" | "noone"))
}

fn is_secret_word(token: &str) -> bool {
    matches!(token, "code" | "codes" | "pin" | "password" | "passcode" | "otp" | "details" | "number" | "numbers")
}

/// The words of `tokens[start..end]`, at most eight (first and last kept).
fn span_text(tokens: &[String], start: usize, end: usize) -> String {
    let words = &tokens[start..end.min(tokens.len())];
    if words.len() <= 8 {
        words.join(" ")
    } else {
        format!("{} … {}", words[..4].join(" "), words[words.len() - 3..].join(" "))
    }
}

/// Tactic evidence accumulated over a call.
#[derive(Default, Clone)]
pub(crate) struct TacticState {
    /// Strongest hit per tactic code (first to reach that strength wins).
    pub(crate) tactics: Vec<TacticHit>,
    /// Strongest hit per safeguard code.
    pub(crate) safeguards: Vec<TacticHit>,
    /// The turn where a "code just sent" context first appeared.
    pub(crate) code_context: Option<usize>,
    /// The turn of the last request for a secret by the caller.
    last_secret_request: Option<(usize, &'static str)>,
    /// DTMF digits keyed since the last secret request.
    dtmf_since_request: usize,
}

impl TacticState {
    /// Runs the rules over one utterance (only the caller's words are evidence).
    pub(crate) fn on_turn(&mut self, turn: usize, caller: bool, tokens: &[String], caller_id: Option<&str>) {
        if self.code_context.is_none() && context_patterns().iter().any(|p| p.find(tokens).is_some()) {
            self.code_context = Some(turn);
        }
        if !caller {
            return;
        }
        for rule in rules() {
            if rule.flags & NEEDS_CODE_CONTEXT != 0 && self.code_context.is_none() {
                continue;
            }
            for pattern in &rule.patterns {
                let Some((start, end)) = pattern.find(tokens) else { continue };
                let negated = rule.flags & NEGATABLE != 0 && is_negated(tokens, start);
                // "Never tell anyone your PIN" is advice, not secrecy.
                let advice =
                    rule.code == SECRECY && tokens[end..(end + 5).min(tokens.len())].iter().any(|t| is_secret_word(t));
                if negated || advice {
                    if advice || rule.code.starts_with("secret.") || rule.code.starts_with("payment.") {
                        let from = start.saturating_sub(3);
                        self.add_safeguard(SAFE_NEVER_ASK, 0.7, turn, span_text(tokens, from, end));
                    }
                    continue;
                }
                let mut strength = rule.strength;
                if rule.code == SECRET_OTP && self.code_context.is_some() {
                    strength = strength.max(0.95);
                }
                let span = span_text(tokens, start, end);
                if rule.code.starts_with("safe.") {
                    self.add_safeguard(rule.code, strength, turn, span);
                } else {
                    if rule.code.starts_with("secret.") {
                        self.last_secret_request = Some((turn, rule.code));
                        self.dtmf_since_request = 0;
                    }
                    self.add_tactic(rule.code, strength, turn, span);
                }
                break;
            }
        }
        if let Some(own) = caller_id.map(normalize_number).filter(|n| n.len() >= 7)
            && callback_pattern().find(tokens).is_some()
        {
            for (start, number) in digit_runs(tokens, 10) {
                let number = normalize_number(&number);
                if number.len() >= 10 && !own.ends_with(&number) && !number.ends_with(&own) {
                    let end = (start + 4).min(tokens.len());
                    self.add_tactic(CALLBACK_MISMATCH, 0.5, turn, span_text(tokens, start, end));
                }
            }
        }
    }

    /// A DTMF digit keyed by the subscriber.
    pub(crate) fn on_dtmf(&mut self, digit: char, turn: usize) {
        if !digit.is_ascii_digit() {
            return;
        }
        if let Some((_, code)) = self.last_secret_request {
            self.dtmf_since_request += 1;
            if self.dtmf_since_request == 4 {
                self.add_tactic(code, 0.9, turn, "dtmf digits keyed".to_owned());
            }
        }
    }

    fn add_tactic(&mut self, code: &'static str, strength: f32, turn: usize, span: String) {
        upsert(&mut self.tactics, TacticHit { code, strength, turn, span });
    }

    fn add_safeguard(&mut self, code: &'static str, strength: f32, turn: usize, span: String) {
        upsert(&mut self.safeguards, TacticHit { code, strength, turn, span });
    }

    /// The strength of a tactic or safeguard code, 0 if absent.
    pub(crate) fn strength(&self, code: &str) -> f32 {
        self.tactics.iter().chain(&self.safeguards).find(|h| h.code == code).map_or(0.0, |h| h.strength)
    }
}

fn upsert(hits: &mut Vec<TacticHit>, hit: TacticHit) {
    match hits.iter_mut().find(|h| h.code == hit.code) {
        Some(existing) if hit.strength > existing.strength => *existing = hit,
        Some(_) => {}
        None => hits.push(hit),
    }
}

/// The last ten digits of a phone number (fewer if it has fewer).
fn normalize_number(number: &str) -> String {
    let digits: String = number.chars().filter(|c| c.is_ascii_digit()).collect();
    let skip = digits.len().saturating_sub(10);
    digits[skip..].to_owned()
}

/// Runs the rules over a whole transcript (tests and tools).
#[cfg(test)]
pub(crate) fn scan(turns: &[(bool, &str)], caller_id: Option<&str>) -> TacticState {
    let mut state = TacticState::default();
    for (i, (caller, text)) in turns.iter().enumerate() {
        state.on_turn(i, *caller, &crate::text::tokenize(text), caller_id);
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(text: &str) -> TacticState {
        scan(&[(true, text)], None)
    }

    fn has(state: &TacticState, code: &str) -> bool {
        state.strength(code) > 0.0
    }

    #[test]
    fn each_tactic_fires_on_typical_words() {
        let cases: &[(&str, &str)] = &[
            (IMPERSONATION_BANK, "Hello, this is the fraud department at your bank."),
            (IMPERSONATION_AUTHORITY, "This is officer Brown with the IRS."),
            (IMPERSONATION_AUTHORITY, "Your social security number has been suspended."),
            (IMPERSONATION_COMPANY, "I'm calling from Amazon about your order."),
            (IMPERSONATION_COMPANY, "This is Microsoft technical support."),
            (URGENCY_THREAT, "There is a warrant and you will be arrested today."),
            (URGENCY_THREAT, "Your power will be disconnected within 30 minutes."),
            (PAYMENT_GIFT_CARD, "Go buy Google Play cards and read me the numbers."),
            (PAYMENT_GIFT_CARD, "You can pay with i tunes gift cards."),
            (PAYMENT_CRYPTO, "Put the cash in the bitcoin ATM at the gas station."),
            (PAYMENT_WIRE, "We will move your savings to a safe account."),
            (PAYMENT_COURIER, "A courier will come to pick up the cash."),
            (SECRET_OTP, "Please read me the one-time passcode."),
            (SECRET_PIN, "Can you confirm your PIN for me?"),
            (SECRET_CARD, "I need the card number and the expiration date."),
            (SECRET_ID, "Can you verify your social security number?"),
            (REMOTE_ACCESS, "Please download AnyDesk so I can fix it."),
            (REMOTE_ACCESS, "Open team viewer and give me the ID."),
            (SECRECY, "Don't tell the bank teller what this is for."),
            (PRIZE_OR_REFUND, "Congratulations, you have won a prize, just pay the processing fee."),
            (FAMILY_EMERGENCY, "Grandma, it's me, I need bail money, this is my new number."),
            (INVESTMENT, "Invest with us and get guaranteed returns of 30 percent a month."),
        ];
        for (code, text) in cases {
            assert!(has(&caller(text), code), "{code} not found in {text:?}");
        }
    }

    #[test]
    fn fresh_code_is_strongest() {
        let s = scan(
            &[
                (true, "We just sent a verification code to your phone."),
                (false, "Yes I got a text."),
                (true, "Please read it to me so I can verify."),
            ],
            None,
        );
        assert!(s.strength(SECRET_OTP) >= 0.9, "{:?}", s.tactics);
        assert_eq!(s.code_context, Some(0));
        let s = scan(&[(false, "I just got a text with a code"), (true, "Yes, what is the code?")], None);
        assert!(s.strength(SECRET_OTP) >= 0.9);
    }

    #[test]
    fn callee_words_are_not_evidence() {
        let s = scan(&[(false, "I will never give my PIN or gift cards over the phone, is this the IRS?")], None);
        assert!(s.tactics.is_empty(), "{:?}", s.tactics);
    }

    #[test]
    fn negations_become_safeguards() {
        let s = caller("We will never ask you for your PIN or the code we send. Do not share the code with anyone.");
        assert!(!has(&s, SECRET_PIN) && !has(&s, SECRET_OTP), "{:?}", s.tactics);
        assert!(has(&s, SAFE_NEVER_ASK));
        let s = caller("Please hang up and call the number on the back of your card.");
        assert!(has(&s, SAFE_CALL_OFFICIAL));
        let s = caller("There is no payment needed, this is just a reminder of your appointment.");
        assert!(has(&s, SAFE_NO_PAYMENT) && has(&s, SAFE_REMINDER));
        let s = caller("You will not be arrested.");
        assert!(!has(&s, URGENCY_THREAT));
    }

    #[test]
    fn callback_mismatch_needs_caller_id() {
        let text = "Please call us back at 1-833-304-1447 right away.";
        assert!(has(&scan(&[(true, text)], Some("+12025550143")), CALLBACK_MISMATCH));
        assert!(!has(&scan(&[(true, text)], Some("+18333041447")), CALLBACK_MISMATCH));
        assert!(!has(&scan(&[(true, text)], None), CALLBACK_MISMATCH));
    }

    #[test]
    fn dtmf_after_request_raises_secret() {
        let mut s = scan(&[(true, "Please enter your PIN on the keypad now.")], None);
        let before = s.strength(SECRET_PIN);
        for d in "1234".chars() {
            s.on_dtmf(d, 1);
        }
        assert!(s.strength(SECRET_PIN) > before);
    }

    #[test]
    fn codes_are_lowercase_identifiers() {
        for code in TACTICS.iter().chain(SAFEGUARDS.iter()) {
            assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_'), "{code}");
        }
        for rule in rules() {
            assert!(TACTICS.contains(&rule.code) || SAFEGUARDS.contains(&rule.code), "{}", rule.code);
        }
    }
}
