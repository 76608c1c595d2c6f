"""Cleaning and translating PTB-XL's machine-generated ECG reports.

About 70 % of PTB-XL's reports are German machine statements
("sinusrhythmus normales ekg"), about 1 % Swedish, the rest English. METS embeds the
reports with a frozen language model; for an English model to place a German report
next to the English report of the same finding, the German and Swedish statements are
translated first. The machine statements use a small, fixed vocabulary (rhythms, axis,
blocks, infarcts, hypertrophy, ST-T changes, ...) plus some free-text remarks, so a
phrase table of ECG German and Swedish does the job without a translation model:

>>> from sklearn_ecg.reports import translate_ptbxl_report
>>> translate_ptbxl_report("sinusrhythmus linkstyp sonst normales ekg")
'sinus rhythm left axis otherwise normal ecg'

Cleaning (:func:`clean_ptbxl_report`, applied by the translators) lower-cases the text
and **drops**:

- the machine's version stamp and status ``"4.46 unbestätigter bericht"``
  ("unconfirmed report", also truncated), which says nothing about the ECG;
- everything from ``"edit:"`` or ``"consensus label derived from"`` on: these are
  annotators' label edits (SCP codes such as ``"norm 100, (asmi 50)"``); keeping them
  would leak the labels into the text;
- six-digit and longer numbers (dates such as ``"ekg 910218"``, record numbers);
- the ``"ó"``/``"½"`` debris of broken character encodings, extra whitespace.

It keeps everything else, including lead names (``"v2-5"``), rates and ``"2:1"``. It
also repairs the encoding damage seen in PTB-XL (``"#bergang"`` for ``"übergang"``,
``"á"`` for ``"ß"``) and spells umlauts as ``ae``/``oe``/``ue`` (and ``å`` as ``aa``),
so ``"veränderung"`` and ``"veraenderung"`` are the same word.
"""

import re
import unicodedata

import numpy as np

__all__ = [
    "clean_ptbxl_report",
    "translate_ptbxl_report",
    "translate_reports",
    "translation_coverage",
    "PHRASES",
]

# German and Swedish ECG phrases -> English. Keys are written naturally; they go
# through the same spelling normalisation as the reports. Multi-word phrases come
# before their words (longest match wins), so word order and idioms are kept where it
# matters; single words make the table work for statements not seen here. English
# words that are also German ("normal", "in", "block", "t") are deliberately absent
# so English reports pass unchanged.
PHRASES = {
    # ---------------------------------------------------------------- whole statements
    "sonst normales ekg": "otherwise normal ecg",
    "normales ekg": "normal ecg",
    "wahrscheinlich normales ekg": "probably normal ecg",
    "pathologisches ekg": "abnormal ecg",
    "grenzwertiges ekg": "borderline ecg",
    "eljest normalt ekg": "otherwise normal ecg",
    "normalt ekg": "normal ecg",
    "patologiskt ekg": "abnormal ecg",
    "in anbetracht des alters": "considering the age",
    "im anbetracht des alters": "considering the age",
    "unbestaetigter bericht": "unconfirmed report",
    # ------------------------------------------------------------------------ rhythm
    "sinusrhythmus": "sinus rhythm",
    "sinus rhythmus": "sinus rhythm",
    "sinusarrhythmie": "sinus arrhythmia",
    "sinus arrhythmie": "sinus arrhythmia",
    "respiratorische sinusarrhythmie": "respiratory sinus arrhythmia",
    "sinustachykardie": "sinus tachycardia",
    "sinusbradykardie": "sinus bradycardia",
    "sinusbrsadykardie": "sinus bradycardia",
    "vorhofflimmern/-flattern": "atrial fibrillation/flutter",
    "vorhofflimmern": "atrial fibrillation",
    "vonrhofflimmern": "atrial fibrillation",
    "vorhofflattern": "atrial flutter",
    "tachykardes vorhofflimmern": "atrial fibrillation with rapid ventricular response",
    "normokardes vorhofflimmern": "atrial fibrillation with normal ventricular rate",
    "bradykardes vorhofflimmern": "atrial fibrillation with slow ventricular response",
    "tachykardes vorhofflattern": "atrial flutter with rapid ventricular response",
    "absolute arrhythmie": "atrial fibrillation (absolute arrhythmia)",
    "arrhythmie": "arrhythmia",
    "tachykardie": "tachycardia",
    "tachycardie": "tachycardia",
    "bradykardie": "bradycardia",
    "supraventrikulaere tachykardie": "supraventricular tachycardia",
    "ventrikulaere tachykardie": "ventricular tachycardia",
    "kammertachykardie": "ventricular tachycardia",
    "kammerflimmern": "ventricular fibrillation",
    "kammerflattern": "ventricular flutter",
    "vorhoftachykardie": "atrial tachycardia",
    "vorhofrhythmus": "atrial rhythm",
    "ektoper vorhofrhythmus": "ectopic atrial rhythm",
    "knotenrhythmus": "junctional rhythm",
    "av-knotenrhythmus": "junctional rhythm",
    "ersatzrhythmus": "escape rhythm",
    "ersatzsystole": "escape beat",
    "eigenrhythmus": "intrinsic rhythm",
    "idioventrikulaerer rhythmus": "idioventricular rhythm",
    "wandernder schrittmacher": "wandering atrial pacemaker",
    "schrittmacherrhythmus": "paced rhythm",
    "schrittmacher": "pacemaker",
    "pacerentladung": "pacemaker spike",
    "getriggerter": "triggered",
    "rhythmus": "rhythm",
    "supraventrikulaere extrasystole(n)": "supraventricular extrasystole(s)",
    "ventrikulaere extrasystole(n)": "ventricular extrasystole(s)",
    "interponierte ventrikulaere extrasystole(n)": "interpolated ventricular extrasystole(s)",
    "extrasystole(n)": "extrasystole(s)",
    "extrasystolen": "extrasystoles",
    "extrasystole": "extrasystole",
    "sves": "supraventricular extrasystoles",
    "ves": "ventricular extrasystoles",
    "bigeminus": "bigeminy",
    "bigeminie": "bigeminy",
    "trigeminus": "trigeminy",
    "trigeminie": "trigeminy",
    "couplet": "couplet",
    "salve": "salvo",
    "interponierte": "interpolated",
    "multiforme": "multiform",
    "monomorphe": "monomorphic",
    "polymorphe": "polymorphic",
    "beschleunigter": "accelerated",
    "regelmaessiger": "regular",
    "unregelmaessiger": "irregular",
    "tachykardes": "tachycardic",
    "normokardes": "normocardic",
    "bradykardes": "bradycardic",
    "tachykard": "tachycardic",
    "normokard": "normocardic",
    "bradykard": "bradycardic",
    # Swedish rhythm
    "sinusrytm": "sinus rhythm",
    "sinusarytmi": "sinus arrhythmia",
    "sinustakykardi": "sinus tachycardia",
    "sinustachykardi": "sinus tachycardia",
    "sinusbradykardi": "sinus bradycardia",
    "foermaksflimmer": "atrial fibrillation",
    "foermaksfladder": "atrial flutter",
    "fladder": "flutter",
    "med hoeg kammarfrekvens": "with rapid ventricular response",
    "med laag kammarfrekvens": "with slow ventricular response",
    "kammarfrekvens": "ventricular rate",
    "supraventrikulaer(a) extrasystoli(er)": "supraventricular extrasystole(s)",
    "ventrikulaer(a) extrasystoli(er)": "ventricular extrasystole(s)",
    "supraventrikulaera extraslag": "supraventricular extra beats",
    "extrasystoli(er)": "extrasystole(s)",
    "extrasystoli": "extrasystole",
    "extraslag": "extra beats",
    "slag med avvikande impulsutbredning": "beats with aberrant conduction",
    "impulsutbredning": "conduction",
    "interpolerade": "interpolated",
    "regelbunden": "regular",
    "oregelbunden": "irregular",
    "rytm": "rhythm",
    "arytmi": "arrhythmia",
    "takykardi": "tachycardia",
    "tachykardi": "tachycardia",
    "bradykardi": "bradycardia",
    "foermak": "atrium",
    # -------------------------------------------------------------------------- axis
    "lagetyp normal": "normal axis",
    "linkslagetyp": "left axis",
    "rechtslagetyp": "right axis",
    "mittellagetyp": "normal axis",
    "mitteltyp": "normal axis",
    "indifferenztyp": "normal axis",
    "indiff": "normal axis",
    "steillagetyp": "vertical axis",
    "steiltyp": "vertical axis",
    "steillage": "vertical axis",
    "sagittaltyp": "sagittal axis",
    "ueberdrehter linkstyp": "left axis deviation",
    "ueberdrehter rechtstyp": "right axis deviation",
    "linkstyp": "left axis",
    "rechtstyp": "right axis",
    "lagetyp": "axis",
    "llt": "left axis",
    "rlt": "right axis",
    "mlt": "normal axis",
    "slt": "vertical axis",
    "herzachse": "heart axis",
    "achse": "axis",
    "ueberdrehter": "extreme",
    "ueberdrehte": "extreme",
    "extrem vaenster el-axel": "left axis deviation",
    "extrem hoeger el-axel": "right axis deviation",
    "vaenster el-axel": "left axis",
    "hoeger el-axel": "right axis",
    "horisontalstaelld el-axel": "horizontal axis",
    "svaarbestaemmbar el-axel": "indeterminate axis",
    "svaarbestaembar el-axel": "indeterminate axis",
    "el-axel": "electrical axis",
    "svaarbestaemmbar": "indeterminate",
    "horisontalstaelld": "horizontal",
    "schwierig bestimmbare achse": "indeterminate axis",
    "nicht bestimmbare achse": "indeterminate axis",
    "bestimmbare": "determinable",
    "bestimmbar": "determinable",
    "schwierig": "difficult",
    "extrem": "extreme",
    # -------------------------------------------------------------------- conduction
    "linksschenkelblock": "left bundle branch block",
    "links-schenkelblock": "left bundle branch block",
    "rechtsschenkelblock": "right bundle branch block",
    "rechts-schenkelblock": "right bundle branch block",
    "schenkelblock": "bundle branch block",
    "lsb": "left bundle branch block",
    "rsb": "right bundle branch block",
    "linksanteriorer hemiblock": "left anterior fascicular block",
    "links anteriorer hemiblock": "left anterior fascicular block",
    "linksposteriorer hemiblock": "left posterior fascicular block",
    "links posteriorer hemiblock": "left posterior fascicular block",
    "lahb": "left anterior fascicular block",
    "lah": "left anterior fascicular block",
    "lphb": "left posterior fascicular block",
    "hemiblock": "fascicular block",
    "bifaszikulaerer block": "bifascicular block",
    "trifaszikulaerer block": "trifascicular block",
    "unspezifische intraventrikulaere leitungsstoerung": (
        "non-specific intraventricular conduction disturbance"
    ),
    "unspezifischer intraventrikulaerer block": "non-specific intraventricular block",
    "leitungsstoerung": "conduction disturbance",
    "leistungsstoerung": "conduction disturbance",
    "erregungsleitungsstoerung": "conduction disturbance",
    "erregungsausbreitungsstoerung": "depolarisation disturbance",
    "erregungsrueckbildungsstoerung": "repolarisation disturbance",
    "erregungsrueckbildungsstoerungen": "repolarisation disturbances",
    "repolarisationsstoerung": "repolarisation disturbance",
    "repolarisationsstoerungen": "repolarisation disturbances",
    "rep stoerungen": "repolarisation disturbances",
    "stoerungen": "disturbances",
    "stoerung": "disturbance",
    "intraventr": "intraventricular",
    "supraventr": "supraventricular",
    "ventr": "ventricular",
    "praeexzitation": "pre-excitation",
    "wpw-syndrom": "wpw syndrome",
    "syndrom": "syndrome",
    "ueberleitung": "conduction",
    "wechselnder": "variable",
    "ospecifikt skaenkelblock": "non-specific bundle branch block",
    "vaenster skaenkelblock": "left bundle branch block",
    "hoeger skaenkelblock": "right bundle branch block",
    "ofullstaendigt hoeger skaenkelblock": "incomplete right bundle branch block",
    "skaenkelblock": "bundle branch block",
    "vaenster fraemre hemiblock": "left anterior fascicular block",
    "vaenster bakre hemiblock": "left posterior fascicular block",
    "bifascikulaert block": "bifascicular block",
    "intraventrikulaert retledningshinder": "intraventricular conduction delay",
    "retledningshinder": "conduction delay",
    "foerlaengd": "prolonged",
    "pq-zeit": "pr interval",
    "pq-tid": "pr interval",
    "pq": "pr",
    "qt-zeit": "qt interval",
    "qt-verlaengerung": "qt prolongation",
    "verlaengerung": "prolongation",
    "verkuerzung": "shortening",
    # ------------------------------------------------------------ atria and P waves
    "verdacht auf p-sinistrocardiale": "suspected left atrial enlargement (p mitrale)",
    "p-sinistrocardiale": "left atrial enlargement (p mitrale)",
    "p-sinistrokardiale": "left atrial enlargement (p mitrale)",
    "p-dextrocardiale": "right atrial enlargement (p pulmonale)",
    "p-dextrokardiale": "right atrial enlargement (p pulmonale)",
    "dextrocardiale": "right atrial enlargement",
    "sinistrocardiale": "left atrial enlargement",
    "p-verbreiterung": "broad p wave",
    "verbreiterung": "widening",
    "verbreitertes": "widened",
    "vorhofsueberlastung links": "left atrial overload",
    "vorhofsueberlastung rechts": "right atrial overload",
    "vorhofsueberlastung": "atrial overload",
    "vorhofsueberbelastung": "atrial overload",
    "vorhofueberbelastung": "atrial overload",
    "vorhofueberlastung": "atrial overload",
    "vorhfsueberlastung": "atrial overload",
    "ueberlastung": "overload",
    "vorhof": "atrium",
    "biphasisch": "biphasic",
    "biphasich": "biphasic",
    "biphas": "biphasic",
    # ------------------------------------------------------------------- hypertrophy
    "maessige amplitudenkriterien fuer linkshypertrophie": (
        "moderate voltage criteria for left ventricular hypertrophy"
    ),
    "amplitudenkriterien": "voltage criteria",
    "linkshypertrophie": "left ventricular hypertrophy",
    "rechtshypertrophie": "right ventricular hypertrophy",
    "linksventrikulaere hypertrophie": "left ventricular hypertrophy",
    "rechtsventrikulaere hypertrophie": "right ventricular hypertrophy",
    "biventrikulaere hypertrophie": "biventricular hypertrophy",
    "kammerhypertrophie": "ventricular hypertrophy",
    "kammerhyperthrophie": "ventricular hypertrophy",
    "hypertrophie": "hypertrophy",
    "linksbelastung": "left ventricular strain",
    "rechtsbelastung": "right ventricular strain",
    "rechtsherzbelastung": "right heart strain",
    "linksbelastu": "left ventricular strain",
    "belastung": "strain",
    "maattliga amplitudkriterier foer vaenster kammarhypertrofi": (
        "moderate voltage criteria for left ventricular hypertrophy"
    ),
    "amplitudkriterier": "voltage criteria",
    "amplitudkrit": "voltage criteria",
    "vaenster kammarhypertrofi": "left ventricular hypertrophy",
    "hoeger kammarhypertrofi": "right ventricular hypertrophy",
    "kammarhypertrofi": "ventricular hypertrophy",
    "kammarkhypertrofi": "ventricular hypertrophy",
    "hypertrofi": "hypertrophy",
    "vaenster belastning": "left ventricular strain",
    "kammarbelastning": "ventricular strain",
    "belastning": "strain",
    "maattliga": "moderate",
    # --------------------------------------------------------- infarction, ischaemia
    "qrs(t) abnorm": "abnormal qrs(t)",
    "qrs(t) abnormal": "abnormal qrs(t)",
    "avvikande qrs(t) foerlopp": "abnormal qrs(t)",
    "myokardinfarkt": "myocardial infarction",
    "vorderwandinfarkt": "anterior wall infarction",
    "hinterwandinfarkt": "inferior wall infarction",
    "seitenwandinfarkt": "lateral wall infarction",
    "vorderwandaneurysma": "anterior wall aneurysm",
    "aneurysma": "aneurysm",
    "infarktablauf": "evolving infarction",
    "infarktnarbe": "infarction scar",
    "infarkt": "infarction",
    "myokardschaden": "myocardial injury",
    "myokardschaedigung": "myocardial damage",
    "myokardaffektion": "myocardial involvement",
    "innenschichtschaden": "subendocardial injury",
    "innenschichtsschaden": "subendocardial injury",
    "innenschichtischaemie": "subendocardial ischaemia",
    "ischaemie": "ischaemia",
    "myokardskada": "myocardial injury",
    "ischemifoeraendringar": "ischaemic changes",
    "ischemi": "ischaemia",
    "vorderwand": "anterior wall",
    "hinterwand": "inferior wall",
    "seitenwand": "lateral wall",
    "brustwand": "chest wall",
    "wahrscheinlich alt": "probably old",
    "alter unbest": "age undetermined",
    "alter unbestimmt": "age undetermined",
    "alter nicht bestimmbar": "age undetermined",
    "aalder ej bestaemmbar": "age undetermined",
    "aalder ej bestaembar": "age undetermined",
    "nicht auszuschliessen": "cannot be excluded",
    "kann nicht ausgeschlossen werden": "cannot be excluded",
    "kan ej uteslutas": "cannot be excluded",
    "kan inte uteslutas": "cannot be excluded",
    "boer oevervaegas": "should be considered",
    "oevervaegas": "considered",
    "oevervaeg": "consider",
    "uteslutas": "be excluded",
    "auszuschliessen": "be excluded",
    "ausgeschlossen": "excluded",
    "verdacht auf": "suspected",
    "verdacht": "suspicion",
    "wahrscheinlich": "probably",
    "moeglicherweise": "possibly",
    "moeglich": "possible",
    "moegliche": "possible",
    "moeglicher": "possible",
    "moegl": "possible",
    "sannolikt": "probably",
    "moejligen": "possibly",
    "misstaenkt": "suspected",
    "fraglich": "questionable",
    "fragl": "questionable",
    "sicher": "definite",
    "sichere": "definite",
    "unsicher": "uncertain",
    "frischer": "recent",
    "frisch": "recent",
    "faersk": "recent",
    "akuter": "acute",
    "akut": "acute",
    "subakuter": "subacute",
    "subakut": "subacute",
    "chronischer": "chronic",
    "chronisch": "chronic",
    "chron": "chronic",
    "abgelaufener": "old",
    "alter": "old",
    "aeldre": "old",
    "unbest": "undetermined",
    "unbestimmt": "undetermined",
    # ------------------------------------------------------------ ST-T, repolarisation
    "st & t abnorm": "abnormal st & t",
    "st & t abnormal": "abnormal st & t",
    "st-senkung": "st depression",
    "st-hebung": "st elevation",
    "st-strecken-senkung": "st segment depression",
    "st-streckensenkung": "st segment depression",
    "st-streckenhebung": "st segment elevation",
    "st-strecke": "st segment",
    "st-strecken": "st segments",
    "senkung": "depression",
    "senkungen": "depressions",
    "hebung": "elevation",
    "hebungen": "elevations",
    "st-t saenkning": "st-t depression",
    "st-saenkning": "st depression",
    "st-hoejning": "st elevation",
    "saenkning": "depression",
    "hoejning": "elevation",
    "t-welle": "t wave",
    "t-wellen": "t waves",
    "u-welle": "u wave",
    "t-wellenveraenderungen": "t wave changes",
    "t-veraenderungen": "t wave changes",
    "t-veraenderung": "t wave change",
    "st-t-veraenderungen": "st-t changes",
    "welle": "wave",
    "wellen": "waves",
    "t neg": "negative t",
    "neg t": "negative t",
    "negatives t": "negative t",
    "negativ": "negative",
    "negatives": "negative",
    "neg": "negative",
    "veraenderungen": "changes",
    "veraenderung": "change",
    "repolarisation": "repolarisation",
    "digitalisveraenderung": "digitalis effect",
    "digitalisveraenderungen": "digitalis effect",
    "digitaliswirkung": "digitalis effect",
    "digitaliseffekt": "digitalis effect",
    "flaches": "flat",
    "flache": "flat",
    "flach": "flat",
    "abgeflacht": "flattened",
    "abgeflachtes": "flattened",
    "hohes": "tall",
    "hohe": "tall",
    "hoher": "high",
    "hoch": "tall",
    "spitze": "peaked",
    "spitzes": "peaked",
    "spitz": "peaked",
    "zweigipfliges": "notched",
    "gipfliges": "peaked",
    "muldenfoermige": "scooped",
    "muldenfoermig": "scooped",
    "mulde": "trough",
    "horizontale": "horizontal",
    "deszendierende": "downsloping",
    "descendierende": "downsloping",
    "descend": "downsloping",
    "desc": "downsloping",
    "aszendierende": "upsloping",
    "konkordant": "concordant",
    "diskordant": "discordant",
    "praeterminal": "preterminal",
    "t-foeraendring": "t wave change",
    "st-t-foeraendring": "st-t change",
    "foeraendringar": "changes",
    "foeraendring": "change",
    "flacka t-vaagor": "flat t waves",
    "flacka": "flat",
    "vaagor": "waves",
    "vaag": "wave",
    "saasom vid": "as in",
    "subendokardiell": "subendocardial",
    "orsakad av": "caused by",
    "orsakad": "caused",
    # ------------------------------------------------------------ voltage, R waves
    "periphere niederspannung": "low voltage in limb leads",
    "zentrale niederspannung": "low voltage in chest leads",
    "niederspannung": "low voltage",
    "niederspannungs": "low voltage",
    "niedervoltage": "low voltage",
    "periphere": "peripheral",
    "laaga amplituder i extremitetsavledningarna": "low voltage in limb leads",
    "laaga amplituder": "low voltage",
    "laaga": "low",
    "amplituder": "amplitudes",
    "schlechte r-progression": "poor r progression",
    "fehlende r-progression": "absent r progression",
    "keine r-progression": "absent r progression",
    "r-verlust": "loss of r wave",
    "verlust": "loss",
    "r-s uebergang in v ableitungen nach rechts verschoben": (
        "r-s transition in chest leads shifted to the right"
    ),
    "r-s uebergang in v ableitungen nach links verschoben": (
        "r-s transition in chest leads shifted to the left"
    ),
    "uebergang": "transition",
    "nach rechts verschoben": "shifted to the right",
    "nach links verschoben": "shifted to the left",
    "verschoben": "shifted",
    "foerskjuten aat vaenster": "shifted to the left",
    "foerskjuten aat hoeger": "shifted to the right",
    "foerskjuten": "shifted",
    "si,qiii - typ": "s1 q3 pattern",
    "siqiii-typ": "s1 q3 pattern",
    "siqiii": "s1 q3 pattern",
    "lungenembolie": "pulmonary embolism",
    # --------------------------------------------------------------------- leads
    "v ableitungen": "chest leads",
    "v-ableitungen": "chest leads",
    "brustwandableitungen": "chest leads",
    "extremitaetenableitungen": "limb leads",
    "ableitungen": "leads",
    "ableitung": "lead",
    "extremitetsavledningarna": "limb leads",
    "extremitetsavledningar": "limb leads",
    "broestavledningarnas": "chest leads'",
    "broestavledningarna": "chest leads",
    "broestavledningar": "chest leads",
    "avledningarna": "leads",
    "avledningar": "leads",
    "armelektroden vertauscht": "arm electrodes reversed",
    "elektroden vertauscht": "electrodes reversed",
    "vertauscht": "reversed",
    # --------------------------------------------------------- qualifiers and words
    "pathologisch": "pathological",
    "pathologische": "pathological",
    "pathologisches": "pathological",
    "pathologischer": "pathological",
    "path": "pathological",
    "patologiskt": "pathological",
    "patologikst": "pathological",
    "grenzbefund": "borderline finding",
    "normalbefund": "normal finding",
    "befund": "finding",
    "ekg": "ecg",
    "abnorm": "abnormal",
    "abnorme": "abnormal",
    "abnormes": "abnormal",
    "abnormer": "abnormal",
    "abnormale": "abnormal",
    "abnormales": "abnormal",
    "abnormaler": "abnormal",
    "normales": "normal",
    "normaels": "normal",
    "normaler": "normal",
    "normalt": "normal",
    "normo": "normal",
    "unspezifisch": "non-specific",
    "unspezifische": "non-specific",
    "unspezifischer": "non-specific",
    "unspezifisches": "non-specific",
    "unspez": "non-specific",
    "ospecifik": "non-specific",
    "ospecifikt": "non-specific",
    "ospecifika": "non-specific",
    "avvikande": "abnormal",
    "foerlopp": "course",
    "maessige": "moderate",
    "maessig": "moderate",
    "leichte": "slight",
    "leicht": "slight",
    "laett": "slight",
    "diskrete": "slight",
    "diskret": "slight",
    "deutliche": "marked",
    "deutlich": "marked",
    "signifikantes": "significant",
    "signifikant": "significant",
    "mangelhafte": "poor",
    "schlechte": "poor",
    "qualitaet": "quality",
    "artefakte": "artefacts",
    "muskelzittern": "muscle tremor",
    "baselinewanderung": "baseline wander",
    "grundlinienschwankung": "baseline wander",
    "unvollstaendiger": "incomplete",
    "unvollstaendig": "incomplete",
    "inkompletter": "incomplete",
    "inkomplett": "incomplete",
    "vollstaendiger": "complete",
    "vollstaendig": "complete",
    "vollst": "complete",
    "kompletter": "complete",
    "kompl": "complete",
    "grades": "degree",
    "grad": "degree",
    "zweiter": "second",
    "relativer": "relative",
    "unveraendert": "unchanged",
    "identisch": "identical",
    "rueckläufig": "regressing",
    "ruecklaeufig": "regressing",
    "verglichen": "compared",
    "vgl": "compared",
    "neu": "new",
    "jetzt": "now",
    "zeitweise": "intermittently",
    "teilweise": "partly",
    "partieller": "partial",
    "etwas": "somewhat",
    "sehr": "very",
    "mehr": "more",
    "kleines": "small",
    "kleine": "small",
    "zusaetzlich": "additionally",
    "zusaetzliche": "additional",
    "entsprechend": "consistent with",
    "insbes": "especially",
    "erkannt": "detected",
    "erhoeht": "increased",
    "keine": "no",
    "kein": "no",
    "nicht": "not",
    "ist": "is",
    "sind": "are",
    "mit": "with",
    "bei": "with",
    "und": "and",
    "oder": "or",
    "fuer": "for",
    "ueber": "over",
    "unter": "under",
    "von": "from",
    "nach": "after",
    "bis": "to",
    "wegen": "due to",
    "der": "the",
    "des": "of the",
    "dem": "the",
    "einer": "a",
    "eine": "a",
    "ein": "a",
    "links": "left",
    "linke": "left",
    "linker": "left",
    "rechts": "right",
    "rechte": "right",
    "rechter": "right",
    "linksventrikulaere": "left ventricular",
    "rechtsventrikulaere": "right ventricular",
    "kammer": "ventricle",
    "ventrikel": "ventricle",
    "herz": "heart",
    "herzfrequenz": "heart rate",
    "hf": "heart rate",
    "puls": "pulse",
    "therapie": "therapy",
    "betablocker": "beta blocker",
    "etablocker": "beta blocker",
    "erfolgreiche": "successful",
    "kardioversion": "cardioversion",
    "stabil": "stable",
    "erneut": "again",
    "danach": "afterwards",
    "seither": "since then",
    "anamnestisch": "by history",
    "kurzer": "short",
    "schweissausbruch": "sweating",
    "umgesprungen": "converted",
    "konstant": "constant",
    "tag": "day",
    "zeit": "interval",
    "erregung": "excitation",
    "unmittelbarer umgebung": "immediate vicinity",
    "unmittelbarar umgebung": "immediate vicinity",
    "umgebung": "vicinity",
    "digoxinspiegel": "digoxin level",
    "chinidinspiegel": "quinidine level",
    "chnidinspiegel": "quinidine level",
    "spiegel": "level",
    "hyperkaliaemie": "hyperkalaemia",
    "hypokaliaemie": "hypokalaemia",
    "perikarditis": "pericarditis",
    "elektrolytstoerung": "electrolyte disturbance",
    "vaenster": "left",
    "vaenstersidigt": "left-sided",
    "hoeger": "right",
    "hoegersidigt": "right-sided",
    "hoeg": "high",
    "fraemre": "anterior",
    "fraemrte": "anterior",
    "bakre": "posterior",
    "eljest": "otherwise",
    "sonst": "otherwise",
    "inget": "no",
    "inga": "no",
    "saekert": "certain",
    "saekra": "certain",
    "fynd": "findings",
    "funna": "found",
    "oefoeraendrat": "unchanged",
    "jmf med": "compared with",
    "jmf": "compared",
    "oekad": "increased",
    "totalt": "total",
    "saaledes": "thus",
    "och": "and",
    "eller": "or",
    "som": "as",
    "inte": "not",
    "fanns": "was present",
    "paa": "on",
    "vid": "at",
    "med": "with",
    "foer": "for",
    "ej": "not",
    "kan": "can",
    "apikal": "apical",
    "alt": "old",
    "flattern": "flutter",
    "-flattern": "-flutter",
    "-fladder": "-flutter",
    "typ": "type",
    "fehlende": "absent",
    "fehlendes": "absent",
    "ant": "anterior",
    "anter": "anterior",
    "sr": "sinus rhythm",
    "slag": "beats",
    "dd": "differential diagnosis",
    "ofoeraendrat": "unchanged",
    "aat": "to",
    "es": "it",
    "vw": "anterior wall",
    "hw": "inferior wall",
    "armelektroden": "arm electrodes",
    "langsamer": "slower",
    "schneller": "faster",
    "auf": "to",
    "wieder": "again",
    "um": "around",
    "dh": "i.e.",
    "ergo": "exercise",
    "ergometrie": "exercise test",
    "belastungs-ekg": "exercise ecg",
    "rr": "blood pressure",
    # ------------------ common PTB-XL terms beyond the shared sample (full dataset)
    "av-dissoziation": "av dissociation",
    "dissoziation": "dissociation",
    "av-block": "av block",
    "vorhofextrasystole(n)": "atrial extrasystole(s)",
    "vorhofextrasystolen": "atrial extrasystoles",
    "vorhofextrasystole": "atrial extrasystole",
    "kammerextrasystole(n)": "ventricular extrasystole(s)",
    "kammerextrasystolen": "ventricular extrasystoles",
    "kammerextrasystole": "ventricular extrasystole",
    "linksherzhypertrophie": "left ventricular hypertrophy",
    "rechtsherzhypertrophie": "right ventricular hypertrophy",
    "linksherzbelastung": "left ventricular strain",
    "hypertrophiezeichen": "signs of hypertrophy",
    "t-negativierung": "t wave inversion",
    "t-negativierungen": "t wave inversions",
    "negativierung": "inversion",
    "negativierungen": "inversions",
    "t-abflachung": "t wave flattening",
    "abflachung": "flattening",
    "qrs-verbreiterung": "qrs widening",
    "st-anhebung": "st elevation",
    "st-anhebungen": "st elevations",
    "anhebung": "elevation",
    "anhebungen": "elevations",
    "st-absenkung": "st depression",
    "st-absenkungen": "st depressions",
    "absenkung": "depression",
    "st-senkungen": "st depressions",
    "st-hebungen": "st elevations",
    "t-ueberhoehung": "tall t wave",
    "ueberhoehung": "peaking",
    "zacke": "wave",
    "zacken": "waves",
    "r-zacke": "r wave",
    "q-zacke": "q wave",
    "q-zacken": "q waves",
    "s-zacke": "s wave",
    "qs-komplex": "qs complex",
    "kammerkomplex": "ventricular complex",
    "komplexe": "complexes",
    "komplex": "complex",
    "verzoegerte r-progression": "delayed r progression",
    "verzoegerte": "delayed",
    "verzoegert": "delayed",
    "rechtsverspaetung": "right ventricular conduction delay",
    "linksverspaetung": "left ventricular conduction delay",
    "verspaetung": "delay",
    "aufsplitterung": "splintering",
    "knotung": "notching",
    "vereinzelt": "isolated",
    "vereinzelte": "isolated",
    "vereinzelter": "isolated",
    "gehaeuft": "frequent",
    "gehaeufte": "frequent",
    "gelegentlich": "occasional",
    "gelegentliche": "occasional",
    "haeufig": "frequent",
    "haeufige": "frequent",
    "einzelne": "single",
    "vermutlich": "presumably",
    "eventuell": "possibly",
    "evtl": "possibly",
    "bzw": "or",
    "beginnend": "incipient",
    "beginnende": "incipient",
    "zeichen": "signs",
    "hinweis": "indication",
    "hinweise": "indications",
    "vereinbar": "compatible",
    "zustand nach": "status post",
    "vorbefund": "previous finding",
    "gegenueber": "compared with",
    "im vergleich": "compared",
    "vergleich": "comparison",
    "vorzeitig": "premature",
    "vorzeitige": "premature",
    "anteroseptalinfarkt": "anteroseptal infarction",
    "vorderwandspitzeninfarkt": "anteroapical infarction",
    "spitzeninfarkt": "apical infarction",
    "lateralinfarkt": "lateral infarction",
    "posteriorinfarkt": "posterior infarction",
    "herzinfarkt": "myocardial infarction",
    "ischaemiezeichen": "signs of ischaemia",
    "ischaemische": "ischaemic",
    "ischaemischer": "ischaemic",
    "ischaemisch": "ischaemic",
    "hypoxie": "hypoxia",
    "elektrolytstoerungen": "electrolyte disturbances",
    "niedrige": "low",
    "niedrig": "low",
    "amplituden": "amplitudes",
    "verlaengerte": "prolonged",
    "verlaengert": "prolonged",
    "pq-verlaengerung": "pr prolongation",
    "qt-dauer": "qt interval",
    "rechtsschenkel": "right bundle branch",
    "linksschenkel": "left bundle branch",
    "kompletten": "complete",
    "inkompletten": "incomplete",
    "sinusknotensyndrom": "sick sinus syndrome",
    "sinusknoten": "sinus node",
    "sinusarrest": "sinus arrest",
    "pausen": "pauses",
    "kontrolle": "follow-up",
    "empfohlen": "recommended",
    "ohne befund": "unremarkable",
    "o.b.": "unremarkable",
    "ohne": "without",
    "unauffaellig": "unremarkable",
    "unauffaelliges": "unremarkable",
    "ueberwiegend": "predominantly",
    "im": "in the",
    "zum": "to the",
    "zur": "to the",
    "keg": "ecg",
}

# Adjective stems (German and Swedish) whose inflected forms all mean the same
# English word: "inferiorer", "inferiore", "inferioren", "inferiorere", ... The
# endings are matched generically so forms that do not occur in the shared sample are
# translated too.
_ADJECTIVE_STEMS = {
    "hochlateral": "high lateral",
    "anterolateral": "anterolateral",
    "anteroseptal": "anteroseptal",
    "inferolateral": "inferolateral",
    "inferoposterior": "inferoposterior",
    "posterolateral": "posterolateral",
    "anterior": "anterior",
    "inferior": "inferior",
    "posterior": "posterior",
    "lateral": "lateral",
    "septal": "septal",
    "apikal": "apical",
    "supraventrikulaer": "supraventricular",
    "intraventrikulaer": "intraventricular",
    "ventrikulaer": "ventricular",
    "linksventrikulaer": "left ventricular",
    "rechtsventrikulaer": "right ventricular",
    "bifaszikulaer": "bifascicular",
    "bifascikulaer": "bifascicular",
    "trifaszikulaer": "trifascicular",
    "unspezifisch": "non-specific",
    "pathologisch": "pathological",
    "abnorm": "abnormal",
    "linksanterior": "left anterior",
    "linksposterior": "left posterior",
    "respiratorisch": "respiratory",
    "periph": "peripheral",
}
# German endings -e, -er, -es, -en, -em, comparative -ere; Swedish -a, -t.
_ADJECTIVE_ENDINGS = r"(?:ere|er|es|en|em|e|a|t|al|ale|ales|aler|alen)?"

_FOLD = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "å": "aa", "æ": "ae", "ø": "oe"}
)
# Characters left by PTB-XL's broken encodings: "á" is cp437's "ß", "#bergang" lost
# its "Ü", and "ó"/"½" replace characters that cannot be recovered.
_MOJIBAKE = [
    (re.compile(r"#bergang"), "übergang"),
    (re.compile(r"(?<=[a-z])á(?=[a-z])"), "ß"),
    (re.compile(r"ó½|½"), ""),
]
# No word boundary before "consensus": PTB-XL glues it to the last word at times.
_CUT_FROM = re.compile(r"(?:\bedit\s*:|consensus label derived from|label derived from).*$")
_TRAILER = "unbestaetigter bericht"
_VERSION = re.compile(r"\b4\.46\b")
_LONG_NUMBER = re.compile(r"\b\d{6,}\b")
_AV_BLOCK = re.compile(
    r"(?<![a-z0-9])a-?v[- ]?block\s*(?:(iii|ii|i)\b|([123])\s*\.?)\s*(?:\.?\s*grades)?"
)
_AV_DEGREE = {"i": "first", "ii": "second", "iii": "third", "1": "first", "2": "second",
              "3": "third"}


def _normalise_spelling(text):
    """Lower-case, repair encoding damage and spell umlauts as ae/oe/ue."""
    text = unicodedata.normalize("NFC", text).lower()
    for pattern, repl in _MOJIBAKE:
        text = pattern.sub(repl, text)
    text = text.translate(_FOLD)
    # Any other accent (é, ó, ...) is dropped; the reports are plain ASCII otherwise.
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def _check_text(text, what="report"):
    if not isinstance(text, str):
        raise TypeError(
            f"{what} must be a string, got {type(text).__name__} ({text!r}). Replace "
            "missing reports (NaN/None) by '' first, e.g. df['report'].fillna('')."
        )


def clean_ptbxl_report(text):
    """Lower-case a PTB-XL report and drop what is not about the ECG.

    See the module docstring for what is dropped and why.

    Parameters
    ----------
    text : str
        One report, as in the ``report`` column of ``ptbxl_database.csv``.

    Returns
    -------
    cleaned : str
        The report in lower case, umlauts spelled ``ae``/``oe``/``ue``, without the
        machine's version stamp and status, label edits, dates, and extra whitespace.

    Examples
    --------
    >>> from sklearn_ecg.reports import clean_ptbxl_report
    >>> clean_ptbxl_report("Sinusrhythmus Linkstyp 4.46   unbestÄtigter bericht "
    ...                    "Edit: NORM 100, (NORM 100)")
    'sinusrhythmus linkstyp'
    """
    _check_text(text)
    text = _normalise_spelling(text)
    text = _CUT_FROM.sub(" ", text)
    # The status "unbestätigter bericht" follows the version stamp, often truncated
    # ("unbestae", "unbestaetigter ber"); a bare "unbest" elsewhere means "undetermined".
    match = _VERSION.search(text)
    if match is not None:
        rest = " ".join(text[match.end():].split())
        if _TRAILER.startswith(rest):
            text = text[: match.start()]
    text = text.replace(_TRAILER, " ")
    text = _VERSION.sub(" ", text)
    text = _LONG_NUMBER.sub(" ", text)
    return " ".join(text.split())


def _build_pattern():
    keys = {}
    for german, english in PHRASES.items():
        keys[_normalise_spelling(german)] = english
    alternatives = [re.escape(k) for k in sorted(keys, key=len, reverse=True)]
    stems = {_normalise_spelling(s): e for s, e in _ADJECTIVE_STEMS.items()}
    stem_group = "|".join(re.escape(s) for s in sorted(stems, key=len, reverse=True))
    pattern = re.compile(
        r"(?<![a-z0-9])(?:(?P<phrase>" + "|".join(alternatives) + r")"
        r"|(?P<stem>" + stem_group + r")" + _ADJECTIVE_ENDINGS + r"|(?P<word>[a-z]+))"
        r"(?![a-z0-9])"
    )
    return pattern, keys, stems


_PATTERN, _PHRASE_MAP, _STEM_MAP = _build_pattern()
# Pieces a German compound may be split into (only words of the table, so English
# words are never split).
_WORDS = {k: v for k, v in _PHRASE_MAP.items() if re.fullmatch(r"[a-z]{4,}", k)}


def _translate_compound(word):
    """Translate an unknown compound such as "vorderwandischaemie" from its parts."""
    for cut in range(len(word) - 4, 3, -1):
        head, tail = word[:cut], word[cut:]
        # German compounds join with a linking "s" ("leitungs-stoerung").
        for left in (head, head[:-1] if head.endswith("s") else None):
            if left and left in _WORDS and tail in _WORDS:
                return f"{_WORDS[left]} {_WORDS[tail]}"
    return word


def _replace(match):
    if match.group("phrase") is not None:
        return _PHRASE_MAP[match.group("phrase")]
    if match.group("stem") is not None:
        return _STEM_MAP[match.group("stem")]
    return _translate_compound(match.group("word"))


def _replace_av_block(match):
    degree = _AV_DEGREE[match.group(1) or match.group(2)]
    return f"{degree} degree av block "


def translate_ptbxl_report(text):
    """Clean a PTB-XL report and translate its German or Swedish phrases to English.

    The report is cleaned with :func:`clean_ptbxl_report`, then every German or
    Swedish ECG phrase of :data:`PHRASES` is replaced by its English equivalent,
    longest phrases first and at word boundaries, in a single pass (an English
    translation is never translated again). Inflected adjectives ("inferiorer",
    "anteroseptalen") are matched by their stem, and unknown German compounds made of
    two known words ("vorderwandischaemie") are translated piece by piece. English
    text and unknown words are left as they are.

    Parameters
    ----------
    text : str
        One report.

    Returns
    -------
    translated : str
        The cleaned report, in English as far as the phrase table reaches.

    Examples
    --------
    >>> from sklearn_ecg.reports import translate_ptbxl_report
    >>> translate_ptbxl_report("sinusrhythmus normales ekg")
    'sinus rhythm normal ecg'
    >>> translate_ptbxl_report("vorhofflimmern ueberdrehter linkstyp qrs(t) abnorm    "
    ...                        "inferiorer infarkt     wahrscheinlich alt "
    ...                        "4.46       unbestÄtigter bericht")
    'atrial fibrillation left axis deviation abnormal qrs(t) inferior infarction probably old'
    >>> translate_ptbxl_report("sinus rhythm. left axis deviation.")
    'sinus rhythm. left axis deviation.'
    """
    text = _AV_BLOCK.sub(_replace_av_block, clean_ptbxl_report(text))
    return " ".join(_PATTERN.sub(_replace, text).split())


def translate_reports(texts):
    """Clean and translate many PTB-XL reports (see :func:`translate_ptbxl_report`).

    Each distinct report is translated once.

    Parameters
    ----------
    texts : iterable of str
        Reports, e.g. the ``report`` column of ``ptbxl_database.csv``.

    Returns
    -------
    translated : list of str
        One translated report per input report, in the same order.

    Examples
    --------
    >>> from sklearn_ecg.reports import translate_reports
    >>> translate_reports(["linksschenkelblock", "sinus rhythm. normal ecg."])
    ['left bundle branch block', 'sinus rhythm. normal ecg.']
    """
    if isinstance(texts, str):
        raise TypeError(
            "texts must be a list of reports, got a single string; use "
            "translate_ptbxl_report for one report or wrap it in a list."
        )
    if isinstance(texts, np.ndarray) and texts.ndim != 1:
        raise ValueError(f"texts must be one-dimensional, got shape {texts.shape}.")
    texts = list(texts)
    done = {}
    out = []
    for i, text in enumerate(texts):
        _check_text(text, what=f"texts[{i}]")
        if text not in done:
            done[text] = translate_ptbxl_report(text)
        out.append(done[text])
    return out


_LEAD_NAMES = {"i", "ii", "iii", "avr", "avl", "avf"}


def translation_coverage(texts, english_words):
    """How much of the non-English vocabulary of reports the phrase table translates.

    Every word of the cleaned reports is counted once per occurrence as
    *translated* (part of a phrase, an inflected adjective or a compound of
    :data:`PHRASES`, or of an AV-block statement), *English* (left as it is and
    in ``english_words``), or *untranslated* (left as it is and not in
    ``english_words``): what reaches an English language model as noise.
    Coverage is the translated share of the words that are not English.
    Numbers and lead names (``v1``, ``avf``) are not words here. German words
    that are also English words (``"in"``, ``"normal"``) count as English.

    Parameters
    ----------
    texts : iterable of str
        Reports, e.g. the ``report`` column of ``ptbxl_database.csv``.
    english_words : iterable of str
        The English vocabulary, in lower case (e.g. the whole-word tokens of the
        language model's vocabulary plus the English side of the phrase table).

    Returns
    -------
    coverage : dict
        ``token_coverage`` and ``type_coverage`` (floats in [0, 1]),
        ``translated_tokens``, ``untranslated_tokens``, ``english_tokens``,
        ``translated_types``, ``untranslated_types`` (ints) and
        ``untranslated`` (a :class:`collections.Counter` of the untranslated
        words).

    Examples
    --------
    >>> from sklearn_ecg.reports import translation_coverage
    >>> out = translation_coverage(["sinusrhythmus normal ekg", "sinus rhythm. qwertz"],
    ...                            english_words={"sinus", "rhythm", "normal"})
    >>> out["translated_tokens"], out["untranslated_tokens"], out["english_tokens"]
    (2, 1, 3)
    >>> round(out["token_coverage"], 3), dict(out["untranslated"])
    (0.667, {'qwertz': 1})
    """
    from collections import Counter

    if isinstance(texts, str):
        raise TypeError("texts must be a list of reports, got a single string.")
    if isinstance(english_words, str):
        raise TypeError("english_words must be a collection of words, got a single string.")
    english = {str(w).lower() for w in english_words}
    translated, untranslated, n_english = Counter(), Counter(), 0
    for i, text in enumerate(texts):
        _check_text(text, what=f"texts[{i}]")
        cleaned = clean_ptbxl_report(text)
        for match in _AV_BLOCK.finditer(cleaned):
            translated.update(re.findall(r"[a-z]+", match.group(0)))
        cleaned = _AV_BLOCK.sub(" ", cleaned)
        for match in _PATTERN.finditer(cleaned):
            word = match.group("word")
            if word in _LEAD_NAMES:
                continue
            if word is not None and _translate_compound(word) == word:
                if word in english:
                    n_english += 1
                else:
                    untranslated[word] += 1
            else:
                translated.update(re.findall(r"[a-z]+", match.group(0)))
    n_translated, n_left = sum(translated.values()), sum(untranslated.values())
    types_translated = set(translated) - english
    types_left = set(untranslated)
    return {
        "token_coverage": n_translated / max(n_translated + n_left, 1),
        "type_coverage": len(types_translated) / max(len(types_translated | types_left), 1),
        "translated_tokens": n_translated,
        "untranslated_tokens": n_left,
        "english_tokens": n_english,
        "translated_types": len(types_translated),
        "untranslated_types": len(types_left),
        "untranslated": untranslated,
    }
