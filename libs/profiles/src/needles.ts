// needles.ts: the facts hidden in probe prompts, written by this project in the style of the
// paper's probes (HEADKV.md section 2).
//   retrieval (HeadKV-R): one sentence; the answer is copied from it.
//   retrieval-reasoning (HeadKV-R2): the answer sentence, a distractor of the same shape and the
//   facts needed to choose between them; only the answer sentence is scored.
export interface ProbeNeedle {
  id: string;
  // Inserted into the haystack.
  needle: string;
  question: string;
  // The expected answer and the text whose tokens form the scored span (a substring of needle).
  answer: string;
}

export const RETRIEVAL_NEEDLES: readonly ProbeNeedle[] = [
  {
    id: 'r-soup',
    needle:
      "The secret ingredient of Grandma Rosa's tomato soup is a spoonful of smoked paprika and a pinch of cinnamon.",
    question: "What is the secret ingredient of Grandma Rosa's tomato soup?",
    answer: 'a spoonful of smoked paprika and a pinch of cinnamon',
  },
  {
    id: 'r-bridge',
    needle:
      'The safest way to cross the old harbor bridge at night is to walk along the east railing and follow the green lanterns.',
    question: 'What is the safest way to cross the old harbor bridge at night?',
    answer: 'walk along the east railing and follow the green lanterns',
  },
  {
    id: 'r-keeper',
    needle:
      'The lighthouse keeper of Gull Island spends every winter repairing rowing boats and reading sea charts by candlelight.',
    question: 'How does the lighthouse keeper of Gull Island spend every winter?',
    answer: 'repairing rowing boats and reading sea charts by candlelight',
  },
  {
    id: 'r-festival',
    needle:
      'The autumn festival in Marlow ends with a parade of paper dragons and a concert on the frozen pond.',
    question: 'How does the autumn festival in Marlow end?',
    answer: 'a parade of paper dragons and a concert on the frozen pond',
  },
];

export const RETRIEVAL_REASONING_NEEDLES: readonly ProbeNeedle[] = [
  {
    id: 'r2-hobby-older',
    needle:
      "Lena's favorite hobby is painting watercolor birds by the river on Sunday mornings. Omar's favorite hobby is building model trains in his garage late at night. Lena is 31 years old. Omar is 27 years old.",
    question: 'What is the favorite hobby of the older one between Lena and Omar?',
    answer: "Lena's favorite hobby is painting watercolor birds by the river on Sunday mornings.",
  },
  {
    id: 'r2-meal-younger',
    needle:
      "Tomas's favorite meal is grilled salmon with lemon rice on a quiet evening. Priya's favorite meal is spicy lentil soup with warm flatbread after a long hike. Priya is 45 years old. Tomas is 52 years old.",
    question: 'What is the favorite meal of the younger one between Priya and Tomas?',
    answer: "Priya's favorite meal is spicy lentil soup with warm flatbread after a long hike.",
  },
  {
    id: 'r2-place-taller',
    needle:
      "Ada's favorite place is the rooftop garden of the city museum at sunset. Bruno's favorite place is the quiet pier at the end of the fishing village. Ada is 170 centimeters tall. Bruno is 182 centimeters tall.",
    question: 'What is the favorite place of the taller one between Ada and Bruno?',
    answer: "Bruno's favorite place is the quiet pier at the end of the fishing village.",
  },
  {
    id: 'r2-book-higher',
    needle:
      "Kenji's favorite book is an old atlas of forgotten islands with hand-drawn maps. Sofia's favorite book is a thick cookbook of desserts from small mountain towns. Kenji lives on the ninth floor. Sofia lives on the third floor.",
    question: 'What is the favorite book of the one who lives on the higher floor between Kenji and Sofia?',
    answer: "Kenji's favorite book is an old atlas of forgotten islands with hand-drawn maps.",
  },
];
