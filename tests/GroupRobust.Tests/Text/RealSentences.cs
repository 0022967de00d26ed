namespace GroupRobust.Tests.Text;

/// <summary>Real English sentences of varied length (openings of public-domain novels, proverbs, MultiNLI-style premises and hypotheses, and text with accents, symbols, tabs and emoji) for the text tests.</summary>
internal static class RealSentences
{
    public static readonly string[] All =
    [
        "It was the best of times, it was the worst of times.",
        "Call me Ishmael.",
        "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
        "Happy families are all alike; every unhappy family is unhappy in its own way.",
        "The sky above the port was the color of television, tuned to a dead channel.",
        "All this happened, more or less.",
        "A journey of a thousand miles begins with a single step.",
        "The man in the red jacket is not playing the guitar.",
        "Two dogs are running through a field covered in snow while a child watches from the porch.",
        "Nobody has ever seen the new library downtown.",
        "The committee postponed its decision until the auditors had reviewed every account.",
        "She didn't say whether the train would leave on time.",
        "Rain.",
        "In the beginning God created the heaven and the earth.",
        "The café on the corner serves crêpes, croissants and a naïve little rosé.",
        "Version 2.0 fixes 17 bugs, adds 3 features (see §4.2), and costs $19.99 — a bargain!",
        "Tabs\tand\nnewlines separate these words.",
        "Emoji such as 😀 and symbols like © and ™ appear in real text too.",
        "Whether 'tis nobler in the mind to suffer the slings and arrows of outrageous fortune, or to take arms against a sea of troubles, and by opposing end them.",
        "The quick brown fox jumps over the lazy dog.",
        "No one was at the meeting, so nothing was decided.",
        "He never goes anywhere without his umbrella, even when the forecast promises sunshine all week.",
        "Unbelievably, the antidisestablishmentarianism debate resurfaced.",
        "Tokyo (東京) is the capital of Japan.",
    ];
}
