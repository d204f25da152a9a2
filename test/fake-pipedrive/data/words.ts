/**
 * Vocabulary for generated records. A few names carry diacritics, apostrophes and non-Latin
 * script on purpose: the connector must round-trip them byte for byte.
 */

export const FIRST_NAMES = [
  'Anna',
  'Ben',
  'Carla',
  'Daniel',
  'Eva',
  'Farid',
  'Grete',
  'Hugo',
  'Ines',
  'Jonas',
  'Kaisa',
  'Liam',
  'Marta',
  'Noah',
  'Olga',
  'Pedro',
  'Zoë',
  'José',
  'Søren',
  'Małgorzata',
  '陈',
  "D'Arcy",
];

export const LAST_NAMES = [
  'Tamm',
  'Smith',
  'García',
  'Müller',
  'Kask',
  'Rossi',
  'Novak',
  'Dubois',
  'Nguyen',
  "O'Brien",
  'Kowalski',
  'Silva',
  'Andersson',
  'Yılmaz',
  'Ivanov',
  '王',
];

export const COMPANY_STEMS = [
  'Acme',
  'Globex',
  'Initech',
  'Umbrella',
  'Hooli',
  'Vandelay',
  'Stark',
  'Wayne',
  'Tyrell',
  'Nordic Fjord',
  'Café Étoile',
  'Baltic Amber',
  'Kühne & Söhne',
  'Soylent',
  'Cyberdyne',
  'Oscorp',
];

export const COMPANY_SUFFIXES = ['Inc.', 'Ltd', 'GmbH', 'OÜ', 'S.A.', 'LLC', 'AB', 'Group'];

export const PRODUCT_NAMES = [
  'CRM Seat',
  'Onboarding Package',
  'Support Plan',
  'API Add-on',
  'Data Migration',
  'Training Day',
  'Analytics Module',
  'Mobile License',
  'Consulting Hour',
  'Hardware Kit',
];

export const PRODUCT_UNITS = ['seat', 'hour', 'day', 'piece', 'month', ''];

export const DEAL_TOPICS = [
  'renewal',
  'expansion',
  'pilot',
  'new business',
  'upsell',
  'migration',
  'rollout',
];

export const ACTIVITY_SUBJECTS = [
  'Intro call',
  'Demo',
  'Follow-up email',
  'Contract review',
  'Lunch with champion',
  'Kick-off meeting',
  'Send proposal',
];

export const NOTE_SNIPPETS = [
  'Customer asked for a discount on the second year.',
  'Decision maker is the CFO; procurement needs two weeks.',
  '<b>Important:</b> renewal depends on the SSO feature.',
  'Called, no answer. Will retry on Monday.',
  'Budget approved 👍',
  'Ärgerlich: the legal review took longer than expected.',
  'Sent the updated quote with the "partner" pricing.',
];

export const LOST_REASONS = ['Price too high', 'Went with competitor', 'No budget', 'Timing'];

export const LABEL_COLORS = [
  'blue',
  'brown',
  'dark-gray',
  'gray',
  'green',
  'orange',
  'pink',
  'purple',
  'red',
  'yellow',
];

export interface AddressParts {
  street_number: string;
  route: string;
  sublocality: string;
  locality: string;
  admin_area_level_1: string;
  admin_area_level_2: string;
  country: string;
  postal_code: string;
}

export const ADDRESSES: AddressParts[] = [
  {
    street_number: '3',
    route: 'Mustamäe tee',
    sublocality: 'Kristiine',
    locality: 'Tallinn',
    admin_area_level_1: 'Harju maakond',
    admin_area_level_2: '',
    country: 'Estonia',
    postal_code: '10616',
  },
  {
    street_number: '460',
    route: 'Park Avenue South',
    sublocality: 'Manhattan',
    locality: 'New York',
    admin_area_level_1: 'New York',
    admin_area_level_2: 'New York County',
    country: 'United States',
    postal_code: '10016',
  },
  {
    street_number: '12',
    route: 'Rua Augusta',
    sublocality: 'Baixa',
    locality: 'Lisboa',
    admin_area_level_1: 'Lisboa',
    admin_area_level_2: '',
    country: 'Portugal',
    postal_code: '1100-053',
  },
  {
    street_number: '7',
    route: 'Friedrichstraße',
    sublocality: 'Mitte',
    locality: 'Berlin',
    admin_area_level_1: 'Berlin',
    admin_area_level_2: '',
    country: 'Germany',
    postal_code: '10117',
  },
];

export function formatAddress(parts: AddressParts): string {
  return `${parts.route} ${parts.street_number}, ${parts.postal_code} ${parts.locality}, ${parts.country}`;
}

export const CURRENCIES: Array<{ code: string; name: string; symbol: string; decimals: number }> = [
  { code: 'EUR', name: 'Euro', symbol: '€', decimals: 2 },
  { code: 'USD', name: 'US Dollar', symbol: '$', decimals: 2 },
  { code: 'GBP', name: 'Pound Sterling', symbol: '£', decimals: 2 },
  { code: 'BRL', name: 'Brazilian Real', symbol: 'R$', decimals: 2 },
  { code: 'JPY', name: 'Japanese Yen', symbol: '¥', decimals: 0 },
  { code: 'SEK', name: 'Swedish Krona', symbol: 'kr', decimals: 2 },
  { code: 'CHF', name: 'Swiss Franc', symbol: 'CHF', decimals: 2 },
  { code: 'PLN', name: 'Polish Zloty', symbol: 'zł', decimals: 2 },
];

/** The currencies deals, prices and monetary fields draw from (a realistic, skewed subset). */
export const DEAL_CURRENCIES = ['EUR', 'EUR', 'EUR', 'USD', 'USD', 'GBP', 'BRL', 'JPY'];

/** Lowercase ASCII for e-mail local parts: "Zoë O'Brien" → "zoe.obrien". */
export function asciiSlug(text: string): string {
  const slug = text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '');
  return slug || 'x';
}
